"""dusk serve, started for real on a free loopback port per test: answers
equal to `dusk detect --json`, every hostile request answered with the right
status while the server keeps answering, slow clients that starve no one,
many clients at once, live streams as MJPEG and server-sent events, metrics
in Prometheus' format, tokens, and a clean stop on SIGTERM under load.
Request counts and times are bounded; only 127.0.0.1 is ever contacted."""
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest

SHARED = Path(os.environ["DUSK_SHARED_DIR"])
DUSK = os.environ["DUSK_BINARY"]
MODEL = SHARED / "models" / "yolo-fastest-1.1"
CFG, WEIGHTS, NAMES = str(MODEL) + ".cfg", str(MODEL) + ".weights", str(SHARED / "models" / "coco.names")
SAMPLES = [f"/usr/share/darknet/data/{n}.jpg" for n in ("dog", "horses", "person", "kite", "eagle", "giraffe")]
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


class Server:
    """A running `dusk serve`; stderr is collected on a thread."""

    def __init__(self, *extra):
        self.process = subprocess.Popen([DUSK, "serve", CFG, WEIGHTS, "--names", NAMES, "--port", "0", "--threads", "2",
                                         *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        self.port = None
        deadline = time.time() + 60
        for line in self.process.stderr:
            self.log.append(line)
            match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                break
            if time.time() > deadline:
                break
        assert self.port, "".join(self.log)
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True).start()
        self.base = f"http://127.0.0.1:{self.port}"

    def request(self, path, body=None, method=None, headers=None, timeout=30):
        """(status, headers, body bytes), errors included."""
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def raw(self, data, timeout=10):
        """Sends bytes as they are; returns the status of the answer (0 if the connection just closed)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            received = b""
            try:
                while b"\r\n" not in received:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    received += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        match = re.match(rb"HTTP/1\.1 (\d{3})", received)
        return int(match.group(1)) if match else 0

    def healthy(self):
        return self.request("/healthz")[0] == 200

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)


@pytest.fixture
def server():
    s = Server()
    yield s
    if s.process.poll() is None:
        assert s.stop() == 0


def cli_objects(paths, tmp_path):
    out = tmp_path / "cli.json"
    subprocess.run([DUSK, "detect", CFG, WEIGHTS, *paths, "--names", NAMES, "--json", str(out)], check=True,
                   capture_output=True)
    return {frame["filename"]: frame["objects"] for frame in json.loads(out.read_text())}


def test_detect_equals_dusk_detect_json(server, tmp_path):
    expected = cli_objects(SAMPLES, tmp_path)
    for path in SAMPLES:
        status, headers, body = server.request("/v1/detect", Path(path).read_bytes())
        assert status == 200 and headers["Content-Type"] == "application/json"
        answer = json.loads(body)
        image = cv2.imread(path)
        assert (answer["width"], answer["height"]) == (image.shape[1], image.shape[0])
        assert answer["objects"] == expected[path], path
    # Options by name change the answer as dusk detect's flags do.
    status, _, body = server.request("/v1/detect?thresh=0.6&letterbox=1", Path(SAMPLES[0]).read_bytes())
    out = tmp_path / "lb.json"
    subprocess.run([DUSK, "detect", CFG, WEIGHTS, SAMPLES[0], "--names", NAMES, "--thresh", "0.6", "--letterbox",
                    "--json", str(out)], check=True, capture_output=True)
    assert status == 200 and json.loads(body)["objects"] == json.loads(out.read_text())[0]["objects"]
    models = json.loads(server.request("/v1/models")[2])
    assert models["classes"] == 80 and models["names"][16] == "dog"
    assert models["input"] == {"width": 320, "height": 320, "channels": 3}


def png_claiming(width, height):
    """A valid PNG header (and one tiny IDAT) that claims width x height."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def test_hostile_requests_get_the_right_status_and_the_server_keeps_answering(server):
    jpeg = Path(SAMPLES[0]).read_bytes()
    cases = [
        ("empty body", lambda: server.request("/v1/detect", b"", method="POST")[0], 400),
        ("random bytes", lambda: server.request("/v1/detect", os.urandom(5000))[0], 400),
        ("truncated jpeg", lambda: server.request("/v1/detect", jpeg[: len(jpeg) // 3])[0], 400),
        ("png claiming 30000x30000", lambda: server.request("/v1/detect", png_claiming(30000, 30000))[0], 413),
        ("thresh=abc", lambda: server.request("/v1/detect?thresh=abc", jpeg)[0], 400),
        ("thresh=2", lambda: server.request("/v1/detect?thresh=2", jpeg)[0], 400),
        ("unknown parameter", lambda: server.request("/v1/detect?treshold=0.3", jpeg)[0], 400),
        ("GET /v1/detect", lambda: server.request("/v1/detect")[0], 405),
        ("unknown path", lambda: server.request("/v2/anything")[0], 404),
        ("path traversal", lambda: server.raw(b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"), 404),
        ("unknown stream", lambda: server.request("/v1/streams/nope/mjpeg")[0], 404),
        ("huge Content-Length, short body",
         lambda: server.raw(b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc"), 413),
        ("broken request line", lambda: server.raw(b"GARBAGE\r\n\r\n"), 400),
        ("5,000 headers",
         lambda: server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
                            + b"\r\n"), 431),
        ("broken chunked encoding",
         lambda: server.raw(b"POST /v1/detect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n"), 400),
    ]
    for name, send, expected in cases:
        assert send() == expected, name
        assert server.healthy(), f"no answer after: {name}"
    status, headers, body = server.request("/v1/detect", b"x" * 10, method="POST")
    assert status == 400 and "error" in json.loads(body)  # errors are JSON


def test_silent_connections_starve_no_one(server):
    silent = []
    for _ in range(64):  # connected, half a request line, then nothing
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(b"GET /heal")
        silent.append(s)
    try:
        start = time.time()
        status, _, _ = server.request("/v1/detect", Path(SAMPLES[0]).read_bytes(), timeout=3)
        assert status == 200 and time.time() - start < 3
    finally:
        for s in silent:
            s.close()


def test_sixteen_clients_forty_requests_each(server):
    image = Path(SAMPLES[2]).read_bytes()

    def client(_):
        return [server.request("/v1/detect", image)[0] for _ in range(40)]

    with ThreadPoolExecutor(16) as pool:
        statuses = [s for batch in pool.map(client, range(16)) for s in batch]
    assert statuses.count(200) + statuses.count(503) == 640
    assert statuses.count(200) >= 600  # the queue (32) only overflows in bursts
    metrics = server.request("/metrics")[2].decode()
    served = sum(int(float(v)) for v in re.findall(r'dusk_http_requests_total\{path="/v1/detect",status="\d+"\} (\S+)',
                                                    metrics))
    assert served == 640


def parse_prometheus(text):
    """name{labels} value lines, checked against the text format's grammar; returns {name: [values]}."""
    families, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            assert name not in types, f"{name} typed twice"
            types[name] = kind
        elif line.startswith("#") or not line:
            continue
        else:
            match = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_]+="[^"]*"(,[a-zA-Z_]+="[^"]*")*\})? (\S+)', line)
            assert match, line
            float(match.group(4))
            families.setdefault(match.group(1), []).append(float(match.group(4)))
    return families


def test_streams_mjpeg_events_snapshot_and_metrics():
    server = Server("--stream", f"walk={VTEST}", "--stream", f"again={VTEST}", "--track", "--count-line",
                    "door=0,60%,100%,60%", "--count-line", "side=50%,0,50%,100%")
    try:
        time.sleep(1.5)
        streams = json.loads(server.request("/v1/streams")[2])
        assert [s["name"] for s in streams] == ["walk", "again"]
        assert all(s["state"] == "running" and s["frames_processed"] > 0 for s in streams)
        # MJPEG: decodable JPEG parts of the source's size.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"GET /v1/streams/walk/mjpeg HTTP/1.1\r\nHost: x\r\n\r\n")
            data, deadline = b"", time.time() + 4
            while data.count(b"--duskframe") < 6 and time.time() < deadline:
                data += s.recv(65536)
        assert b"multipart/x-mixed-replace; boundary=duskframe" in data.split(b"\r\n\r\n")[0]
        parts = data.split(b"--duskframe\r\n")[1:-1]
        assert len(parts) >= 4
        for part in parts:
            head, jpeg = part.split(b"\r\n\r\n", 1)
            length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
            frame = cv2.imdecode(np.frombuffer(jpeg[:length], np.uint8), cv2.IMREAD_COLOR)
            assert frame is not None and frame.shape == (576, 768, 3)
        # Server-sent events: one data line per frame, ids increasing, tracks on.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"GET /v1/streams/walk/events HTTP/1.1\r\nHost: x\r\n\r\n")
            data, deadline = b"", time.time() + 4
            while data.count(b"\n\ndata: ") < 8 and time.time() < deadline:
                data += s.recv(65536)
        assert b"text/event-stream" in data.split(b"\r\n\r\n")[0]
        events = [json.loads(line[6:]) for line in data.split(b"\r\n\r\n", 1)[1].split(b"\n") if line.startswith(b"data: ")]
        ids = [e["frame_id"] for e in events]
        assert len(ids) >= 5 and ids == sorted(ids) and len(set(ids)) == len(ids)
        assert any(o.get("track_id") for e in events for o in e["objects"])
        assert all("events" in e for e in events)
        status, headers, jpeg = server.request("/v1/streams/walk/snapshot.jpg")
        assert status == 200 and headers["Content-Type"] == "image/jpeg"
        assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (576, 768, 3)
        families = parse_prometheus(server.request("/metrics")[2].decode())
        assert families["dusk_stream_frames_processed_total"][0] > 10
        assert sum(families["dusk_http_requests_total"]) >= 3
        assert families["process_resident_memory_bytes"][0] > 1e6
    finally:
        assert server.stop() == 0


def test_token_required_everywhere_but_healthz(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token-0123456789\n")
    server = Server("--token-file", str(token_file))
    try:
        image = Path(SAMPLES[0]).read_bytes()
        assert server.request("/v1/detect", image)[0] == 401
        assert server.request("/v1/detect", image, headers={"Authorization": "Bearer wrong-token-0123456789"})[0] == 401
        assert server.request("/v1/detect", image, headers={"Authorization": "Bearer s3cret-token-0123456789"})[0] == 200
        assert server.request("/metrics")[0] == 401
        assert server.request("/healthz")[0] == 200
        assert server.request("/v1/models?token=s3cret-token-0123456789")[0] == 200  # what the page's <img> uses
        assert "s3cret" not in "".join(server.log)  # tokens never reach the log
    finally:
        assert server.stop() == 0


def test_sigterm_under_load_answers_requests_in_flight_and_exits_0():
    server = Server()
    image = Path(SAMPLES[1]).read_bytes()
    results = []

    def client():
        for _ in range(30):
            try:
                results.append(server.request("/v1/detect", image, timeout=10)[0])
            except (urllib.error.URLError, ConnectionError, OSError):
                results.append("refused")  # after the stop: no longer accepted
    clients = [threading.Thread(target=client) for _ in range(4)]
    for c in clients:
        c.start()
    time.sleep(0.5)
    start = time.time()
    assert server.stop() == 0
    assert time.time() - start < 10
    for c in clients:
        c.join(timeout=20)
    assert 200 in results
    assert all(r in (200, 503, "refused") for r in results), results


def test_bad_options_refused_in_one_line():
    for args, message in [(["--stream", "nope"], "is not NAME=SOURCE"),
                          (["--port", "70000"], "is not a TCP port"),
                          (["--count-line", "door=0,0,1,1"], "need --track"),
                          (["--token-file", "/nonexistent/token"], "cannot be read")]:
        result = subprocess.run([DUSK, "serve", CFG, WEIGHTS, *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_the_page_in_headless_chromium(tmp_path):
    """The built-in page shows a stream live and draws the boxes of a dropped image."""
    source = Path(os.environ.get("DUSK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
    modules = source / ".deps" / "playwright" / "node_modules"
    assert modules.is_dir(), "scripts/setup installs playwright-core into .deps/playwright"
    server = Server("--stream", f"walk={VTEST}")
    try:
        shot = tmp_path / "page.png"
        result = subprocess.run(["node", str(source / "tests" / "serve" / "page_test.js"), server.base, SAMPLES[0],
                                 str(shot)], capture_output=True, text=True, timeout=120,
                                env=dict(os.environ, NODE_PATH=str(modules)))
        assert result.returncode == 0, result.stderr[-2000:]
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert seen["stream"] == [768, 576]
        assert seen["objects"] == len(json.loads(server.request("/v1/detect", Path(SAMPLES[0]).read_bytes())[2])["objects"])
        assert seen["objects"] > 0 and seen["canvas"][:2] == [768, 576] and seen["canvas"][2] > 100
        assert seen["errors"] == []
        assert shot.stat().st_size > 10000
    finally:
        assert server.stop() == 0


def test_a_lost_source_reconnects_without_touching_the_others(tmp_path):
    missing = tmp_path / "later.avi"  # does not exist yet: the stream keeps trying, with backoff
    server = Server("--stream", f"good={VTEST}", "--stream", f"later={missing}")
    try:
        time.sleep(2.5)
        streams = {s["name"]: s for s in json.loads(server.request("/v1/streams")[2])}
        assert streams["later"]["state"] == "reconnecting" and streams["later"]["reconnects"] >= 1
        assert "no such file" in streams["later"]["last_error"]
        assert streams["good"]["state"] == "running" and streams["good"]["frames_processed"] > 5
        os.symlink(VTEST, missing)  # the source comes back
        deadline = time.time() + 15
        while time.time() < deadline:
            later = next(s for s in json.loads(server.request("/v1/streams")[2]) if s["name"] == "later")
            if later["state"] == "running" and later["frames_processed"] > 0:
                break
            time.sleep(0.5)
        assert later["state"] == "running" and later["frames_processed"] > 0
    finally:
        assert server.stop() == 0
