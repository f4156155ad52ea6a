"""Request ids: 128 random bits each, handed out from batches of os.urandom."""

from __future__ import annotations

import os
import re

from swe_common.context import clean_id, new_request_id


def test_request_ids_are_32_hex_digits_and_never_repeat_across_batches():
    ids = [new_request_id() for _ in range(3_000)]  # several batches
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(clean_id(i) == i for i in ids[:10])  # accepted back when a caller sends it


def test_a_forked_child_never_hands_out_its_parents_ids():
    new_request_id()  # the parent holds a batch
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        os.close(read)
        os.write(write, "".join(new_request_id() for _ in range(4)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    parent = "".join(new_request_id() for _ in range(4))
    assert len(child) == 128
    assert child != parent
