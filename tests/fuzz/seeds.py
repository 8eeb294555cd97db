#!/usr/bin/env python3
"""Writes the hand-made seeds of the fuzz corpora into tests/fuzz/corpus/<target>/
(seed-*.bin; what the fuzzers add beside them is kept too). Run it again after
changing the seeds; it never removes a file.

  sigv4       AWS's SigV4 suite requests (../shared/sigv4/v4) in fuzz_sigv4's format
  state       state files: empty, typical, with outputs, and a few malformed ones
  httpserver  requests as the local target sees them, pipelined, chunked, broken
  httpanswer  answers as the HTTP client reads them (a flags byte, then the bytes):
              Content-Length, chunked with a trailer, 1xx first, to the end, broken
  archive     zips: files, directories, an executable, links inside and outside (to
              fuzz_archive's bait: nothing may be written through them)"""
import hashlib
import io
import json
import os
import stat
import warnings
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "..", "..", "..", "shared", "sigv4", "v4")


def put(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16] + ".bin"
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sigv4():
    if not os.path.isdir(SUITE):
        return
    for case in sorted(os.listdir(SUITE)):
        req = os.path.join(SUITE, case, "request.txt")
        if not os.path.exists(req):
            continue
        with open(req, "rb") as f:
            text = f.read()
        head, _, body = text.partition(b"\n\n")
        lines = head.split(b"\n")
        method, target, _ = lines[0].split(b" ", 2) if lines[0].count(b" ") >= 2 else (b"GET", b"/", b"")
        path, _, query = target.partition(b"?")
        headers = b"\n".join(lines[1:])
        for flags in (0x01, 0x13, 0x0c):
            put("sigv4", bytes([flags]) + b"\n".join([method, path, query, headers, b"", body]))


def state():
    resource = {"kind": "func", "name": "hello", "site": "stack.lua:3", "dependencies": [],
                "args": {"function_name": "hello-dev", "runtime": "python3.12", "handler": "index.handler",
                         "role": "arn:aws:iam::123456789012:role/r", "memory_size": 128,
                         "environment": {"variables": {"STAGE": "dev"}}, "layers": []},
                "attrs": {"arn": "arn:aws:lambda:us-east-1:123456789012:function:hello-dev", "version": "$LATEST"},
                "tags_all": {"team": "a"}}
    base = {"version": 1, "serial": 3, "lineage": "3f1c2a4e-1b2c-4d5e-8f90-123456789abc",
            "lambdaeng_version": "0.1.0", "resources": {"func.hello": resource},
            "outputs": {"url": {"value": "https://x", "sensitive": False}}}
    put("state", "")
    put("state", json.dumps(base, indent=2))
    put("state", json.dumps(dict(base, resources={}, outputs={})))
    inv = {"kind": "invocation", "name": "seed", "args": {"function_name": "hello-dev", "input": "{\"a\":1}"},
           "attrs": {"result": "{\"ok\":true}"}, "dependencies": ["func.hello"]}
    put("state", json.dumps(dict(base, resources={"func.hello": resource, "invocation.seed": inv})))
    put("state", json.dumps(dict(base, serial=9223372036854775807)))
    put("state", json.dumps(dict(base, resources={"func.x": 5})))
    put("state", json.dumps(dict(base, resources={"func.x": dict(resource, args="str")})))
    put("state", '{"version": 1, "resources": {"a": {"b": [1, 2.5, null, true, "\\u00e9", {"c": []}]}}}')
    put("state", "[" * 50 + "]" * 50)
    put("state", '{"version": 1, "serial": -1, "lineage": 5}')


def http():
    sig = ("Authorization: AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/lambda/aws4_request, "
           "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64 + "\r\nX-Amz-Date: 20150830T123600Z\r\n")
    put("httpserver", "GET /2015-03-31/functions/f HTTP/1.1\r\nHost: 127.0.0.1\r\n" + sig + "\r\n")
    put("httpserver", "POST /2015-03-31/functions/f/invocations?Qualifier=1 HTTP/1.1\r\nHost: h\r\n"
        "Content-Type: application/json\r\nContent-Length: 11\r\n" + sig + "\r\n{\"a\": true}")
    put("httpserver", "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
        "POST /c HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")
    put("httpserver", "POST /chunked HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    put("httpserver", "POST /small HTTP/1.1\r\nHost: h\r\nContent-Length: 40\r\n\r\n" + "x" * 40)
    put("httpserver", "PUT /refuse HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nabcde")
    put("httpserver", "GET /abort HTTP/1.1\r\nHost: h\r\n\r\n")
    put("httpserver", "GET /x HTTP/1.0\r\n\r\n")
    put("httpserver", "GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    put("httpserver", "POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: h\r\n"
        "Content-Length: 2\r\nExpect: 100-continue\r\n\r\nok")
    put("httpserver", "GET /" + "a" * 300 + " HTTP/1.1\r\nHost: h\r\nX: " + "y" * 500 + "\r\n\r\n")
    put("httpserver", "G\x00T / HTTP/1.1\r\n\r\n")
    put("httpserver", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n")
    # the framing picohttpparser's reader judges (httpserver_head.c): a chunk extension and a
    # trailer then a pipelined request, and heads that contradict themselves
    put("httpserver", "PUT /t HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3;ext=1\r\nabc\r\n0\r\nX-Sum: 3\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n")
    put("httpserver", "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\na")
    put("httpserver", "POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    put("httpserver", "GET /x HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n")
    put("httpserver", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n")


def http_answers():
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: t\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\nto the end",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 100\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 200 OK\r\n",
    ]
    for i, a in enumerate(answers):
        put("httpanswer", bytes([(i % 4) | ((i * 5) << 2) & 0xFC]) + a)


def archives():
    def zipped(entries):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for name, data, mode in entries:
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = mode << 16
                info.compress_type = zipfile.ZIP_DEFLATED if len(data) > 8 else zipfile.ZIP_STORED
                z.writestr(info, data)
        return buf.getvalue()
    put("archive", zipped([("index.py", b"def handler(e, c):\n    return e\n", stat.S_IFREG | 0o644)]))
    put("archive", zipped([("bin/", b"", stat.S_IFDIR | 0o755), ("bin/bootstrap", b"#!/bin/sh\necho hi\n",
                                                                 stat.S_IFREG | 0o755)]))
    put("archive", zipped([("lib/a.txt", b"a" * 100, stat.S_IFREG | 0o644),
                           ("link", b"lib/a.txt", stat.S_IFLNK | 0o777)]))
    put("archive", zipped([("up", b"../outside", stat.S_IFLNK | 0o777)]))
    put("archive", zipped([("../evil", b"x", stat.S_IFREG | 0o644)]))
    put("archive", zipped([("d", b"sub", stat.S_IFLNK | 0o777), ("d/x", b"through a link", stat.S_IFREG | 0o644)]))
    put("archive", zipped([("setuid", b"x", stat.S_IFREG | 0o4755)]))
    # links to fuzz_archive's bait (root/bait/file, beside out) and to absolute places: kept,
    # never written through
    put("archive", zipped([("l", b"/opt/python/lib", stat.S_IFLNK | 0o777), ("i.py", b"x", stat.S_IFREG | 0o644)]))
    put("archive", zipped([("b", b"../bait", stat.S_IFLNK | 0o777), ("b/file", b"overwritten", stat.S_IFREG | 0o644)]))
    put("archive", zipped([("b", b"../bait", stat.S_IFLNK | 0o777), ("b/new/", b"", stat.S_IFDIR | 0o755)]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two entries of one name
        put("archive", zipped([("f", b"../bait/file", stat.S_IFLNK | 0o777),
                               ("f", b"overwritten", stat.S_IFREG | 0o644)]))


if __name__ == "__main__":
    sigv4()
    state()
    http()
    http_answers()
    archives()
