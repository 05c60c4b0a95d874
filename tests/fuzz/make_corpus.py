#!/usr/bin/env python3
"""Writes the kept seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/): the
hostile cases of issue 8 and a few well-formed ones, in each target's input format
(fuzz_input.h: choice bytes, then pieces of up to 255 bytes with a length byte, 255
meaning null, then the rest). Rerun after changing a format; the files are committed."""
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))


def piece(b):
    if b is None:
        return bytes([255])
    assert len(b) < 255
    return bytes([len(b)]) + b


def nested(levels):
    return b"[" * (levels - 1) + b"]" * (levels - 1)


REQUESTS = {
    "valid": b'{"requestId":"r-1","couponId":"c","userId":"u","requestedAt":1763700000000}',
    "no_request_id": b'{"couponId":"c","userId":"u"}',
    "unknown_fields": b'{"couponId":"c","userId":"u","x":{"a":[1,2,{"b":null}]},"y":true}',
    "deep_at_limit": b'{"couponId":"c","userId":"u","x":' + nested(32) + b"}",
    "deep_beyond": b'{"couponId":"c","userId":"u","x":' + nested(33) + b"}",
    "deep_4000": b'{"x":' + nested(4000) + b"}",
    "field_twice": b'{"couponId":"c","userId":"u","userId":"v"}',
    "unknown_twice": b'{"couponId":"c","userId":"u","z":1,"z":2}',
    "nul_escaped": b'{"couponId":"c","userId":"a\\u0000b"}',
    "nul_raw": b'{"couponId":"c","userId":"a\x00b"}',
    "u2028": '{"couponId":"c","userId":"a\u2028b"}'.encode(),
    "bad_utf8": b'{"couponId":"c","userId":"\xc3\x28"}',
    "surrogate": b'{"couponId":"c","userId":"\\ud800"}',
    "big_number": b'{"couponId":"c","userId":"u","requestedAt":18446744073709551616}',
    "fraction": b'{"couponId":"c","userId":"u","requestedAt":1.5}',
    "trailing": b'{"couponId":"c","userId":"u"} {}',
    "array": b'[{"couponId":"c","userId":"u"}]',
    "binary": bytes(range(0, 256, 7)),
    "empty": b"",
}

CATALOG_VALUES = {
    "valid": b'{"couponId":"c","capacity":10,"opensAt":1,"closesAt":2}',
    "text_capacity": b'{"couponId":"c","capacity":"lots"}',
    "negative": b'{"couponId":"c","capacity":-1}',
    "big_capacity": b'{"couponId":"c","capacity":99999999999999999999}',
    "other_id": b'{"couponId":"d","capacity":1}',
    "twice": b'{"couponId":"c","capacity":1,"capacity":2}',
    "deep": b'{"couponId":"c","capacity":1,"x":' + nested(40) + b"}",
    "binary": b"\x00\x9f\xff\x01",
}


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    shutil.rmtree(os.path.join(HERE, "corpus"), ignore_errors=True)
    for name, value in REQUESTS.items():
        write("request", name, value)
    for name, value in CATALOG_VALUES.items():
        # choices: bit 0 tombstone, bits 1-3 partition count, bits 4-7 partition.
        write("catalog", name, bytes([0b0000_0100]) + piece(b"c") + value)
    write("catalog", "no_key", bytes([0]) + piece(None) + CATALOG_VALUES["valid"])
    write("catalog", "empty_key", bytes([0]) + piece(b"") + CATALOG_VALUES["valid"])
    write("catalog", "tombstone", bytes([1]) + piece(b"c"))
    write("catalog", "misplaced", bytes([0b0101_0110]) + piece(b"c") + CATALOG_VALUES["valid"])
    # changelog: key piece, value piece.
    holding_key = len(b"c").to_bytes(4, "big") + b"c" + b"user-9"
    holding = (3).to_bytes(8, "little") + b"r-1"
    write("changelog", "holding", piece(holding_key) + piece(holding))
    write("changelog", "tombstone", piece(holding_key) + piece(None))
    write("changelog", "source_offsets", piece(b"\x00couponflow.source-offsets") + piece(b"\x01" + bytes(16)))
    write("changelog", "short_key", piece(b"\xff\xff") + piece(b"x"))
    write("changelog", "long_length", piece(b"\xff\xff\xff\xffc") + piece(holding))
    # verify: partitions byte, then records: kind, offset, timestamp, key, value[, 4 headers].
    result = b'{"requestId":"r-1","couponId":"c","userId":"u","status":"ACCEPTED","issueNo":1,' \
             b'"decidedAt":5,"partition":0,"offset":0}'
    request = REQUESTS["valid"]
    catalog = CATALOG_VALUES["valid"]
    world = bytes([1])
    world += bytes([0, 0, 1]) + piece(b"c") + piece(catalog)
    world += bytes([1, 0, 2]) + piece(b"c") + piece(request)
    world += bytes([2, 0, 3]) + piece(b"c") + piece(result)
    world += bytes([4, 0, 4]) + piece(holding_key) + piece(holding)
    write("verify", "world", world)
    dlq = bytes([1]) + bytes([3, 0, 1]) + piece(b"c") + piece(b"x")
    write("verify", "dlq_bad_headers", dlq + piece(b"MALFORMED") + piece(b"coupon-issuance") + piece(b"abc") + piece(b"1e3"))
    write("verify", "dlq_huge_number", dlq + piece(b"MALFORMED") + piece(b"coupon-issuance") + piece(b"9" * 40) + piece(b"0"))
    write("verify", "result_deep", bytes([1]) + bytes([2, 0, 0]) + piece(b"c") + piece(nested(120)))
    # api: a choice byte (odd: an instance claim; even: a request target), then the text.
    write("api", "claim", b'\x01{"instance":"a","address":"127.0.0.1:9464","updatedAt":1700000000000,'
                          b'"running":"0@1700000000000,3@1700000000500","restoring":"5"}')
    write("api", "claim_withdrawn", b'\x01{"instance":"a","address":"h:1","updatedAt":1,"running":"","restoring":""}')
    write("api", "claim_bad_list", b'\x01{"address":"h:1","running":"1@x,,2"}')
    write("api", "claim_deep", b'\x01{"address":"h:1","x":' + nested(4000) + b"}")
    write("api", "path", b"\x00/api/coupons/c%2F1/holders/%EC%BF%A0")
    write("api", "query", b"\x00wait=100&x=%zz")
    write("api", "escape_cut", b"\x00%")
    # utc: the text as typed.
    write("utc", "plain", b"2026-11-29T10:00:00Z")
    write("utc", "millis", b"2026-11-29T10:00:00.250Z")
    write("utc", "leap_day", b"2000-02-29T23:59:59.999Z")
    write("utc", "february_31", b"2026-02-31T00:00:00Z")
    write("utc", "before_epoch", b"1969-12-31T23:59:59Z")


if __name__ == "__main__":
    main()
