# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A threaded HTTP server (http.server.ThreadingHTTPServer, a thread per
request) with a CPU-bound route and an I/O route, under a bounded load
from a client process it starts itself:

  /cpu  burn(): BURN_S of the handler thread's own CPU (time.thread_time)
        in a pure Python loop, keeping the GIL but for the forced switches
  /io   io_wait(): time.sleep(IO_S), then a short answer

The client (this file, run by sys.executable: it works in a chroot too)
runs CLIENTS threads per route, each making REQUESTS requests one after
another (HTTP/1.0: one connection, so one server thread, per request), all
starting together.  Once it has exited the server shuts down, joins its
request threads and prints its own ground truth as JSON: requests served
per route, each request thread's native id, name, route and the
CLOCK_MONOTONIC times around its route's function, burn()'s CPU
time summed over requests, the frame names ("qualname" on 3.11+, co_name
before), files and lines of the route functions (io_wait's time.sleep line
from its "# @sleep" comment), the client's own counts, the Python version.

Stdlib only (3.8 - 3.15).  --flask serves the same routes from a Flask
app on werkzeug's threaded server instead (for the optional Flask check).

usage: http_routes.py [REQUESTS [CLIENTS]] [--flask]
       http_routes.py client PORT REQUESTS CLIENTS
"""
import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import time

BURN_S = 0.020
IO_S = 0.010


def burn():
    c0 = time.thread_time_ns()
    end = c0 + int(BURN_S * 1e9)
    x = 0
    while time.thread_time_ns() < end:
        for i in range(2000):
            x += i
    return time.thread_time_ns() - c0


def io_wait():
    time.sleep(IO_S)  # @sleep


class Served:
    """What the server did, counted by the request threads (the GIL keeps
    list.append and the dict update whole)."""

    def __init__(self):
        self.requests = {"/cpu": 0, "/io": 0}
        self.threads = []
        self.burn_cpu_ns = 0
        self.lock = threading.Lock()

    def route(self, path):
        """Runs path's route; the body to answer with (counted before the
        answer is sent: once the client has every answer, every count is
        in)."""
        t0 = time.monotonic_ns()
        if path == "/cpu":
            ns = burn()
        elif path == "/io":
            io_wait()
            ns = 0
        else:
            return None
        with self.lock:
            self.requests[path] += 1
            self.burn_cpu_ns += ns
            self.threads.append({"tid": threading.get_native_id(), "route": path,
                                 "name": threading.current_thread().name,
                                 "start_ns": t0, "end_ns": time.monotonic_ns()})
        return b"done\n"


served = Served()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = served.route(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    # request threads joined by server_close(): a clean end, every count in
    daemon_threads = False


def flask_server():
    import logging
    import flask
    from werkzeug.serving import make_server
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = flask.Flask("http_routes")

    @app.route("/cpu")
    def cpu_route():
        return served.route("/cpu")

    @app.route("/io")
    def io_route():
        return served.route("/io")

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    srv.daemon_threads = False
    return srv, {"cpu_route": cpu_route, "io_route": io_route}


def client(port, requests, clients):
    """The load: CLIENTS threads per route, REQUESTS requests each."""
    ok = {"/cpu": 0, "/io": 0}
    errors = []
    start = threading.Barrier(2 * clients)

    def run(path):
        start.wait()
        for _ in range(requests):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                c.close()
                if r.status == 200 and body == b"done\n":
                    ok[path] += 1
                else:
                    errors.append("%s: %d %r" % (path, r.status, body[:80]))
            except OSError as e:
                errors.append("%s: %s" % (path, e))

    t0 = time.monotonic_ns()
    ts = [threading.Thread(target=run, args=(p,)) for p in ("/cpu", "/io") for _ in range(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(json.dumps({"ok": ok, "errors": errors, "wall_ns": time.monotonic_ns() - t0}),
          flush=True)
    return 0 if not errors else 1


def frame_info(fn, marks=()):
    """What a frame walk names fn's frames: its code's qualname (3.11+)
    or name, its file as the code has it, its first and last lines, and
    the lines of the "# @MARK" comments in it."""
    import inspect
    fn = getattr(fn, "__wrapped__", fn)
    code = fn.__code__
    src, first = inspect.getsourcelines(fn)
    info = {"frame_name": getattr(code, "co_qualname", code.co_name),
            "qualname": fn.__qualname__, "file": code.co_filename,
            "first": first, "last": first + len(src) - 1}
    for m in marks:
        hits = [first + i for i, l in enumerate(src) if l.rstrip().endswith("# @" + m)]
        assert len(hits) == 1, (fn.__name__, m, hits)
        info[m] = hits[0]
    return info


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if args and args[0] == "client":
        return client(int(args[1]), int(args[2]), int(args[3]))
    requests = int(args[0]) if len(args) > 0 else 10
    clients = int(args[1]) if len(args) > 1 else 2
    use_flask = "--flask" in sys.argv[1:]
    if use_flask:
        srv, routes = flask_server()
    else:
        srv, routes = Server(("127.0.0.1", 0), Handler), {"do_GET": Handler.do_GET}
    port = srv.server_address[1]
    server_tid = []

    def serve():
        server_tid.append(threading.get_native_id())
        srv.serve_forever(poll_interval=0.05)

    st = threading.Thread(target=serve, name="server")
    st.start()
    # the socket listens already: the client's connections wait in its backlog
    cl = subprocess.run([sys.executable, os.path.abspath(__file__), "client", str(port),
                         str(requests), str(clients)], stdout=subprocess.PIPE, timeout=300)
    srv.shutdown()
    srv.server_close()      # joins the request threads
    st.join()
    got = json.loads(cl.stdout)
    funcs = {"burn": frame_info(burn), "io_wait": frame_info(io_wait, ["sleep"])}
    funcs.update((k, frame_info(v)) for k, v in routes.items())
    print(json.dumps({"pid": os.getpid(), "python": sys.version.split()[0],
                      "server": "flask" if use_flask else "http.server",
                      "switch_interval_s": sys.getswitchinterval(),
                      "requests": served.requests, "burn_cpu_ns": served.burn_cpu_ns,
                      "burn_s": BURN_S, "io_s": IO_S, "threads": served.threads,
                      "server_tid": server_tid[0], "main_tid": threading.get_native_id(),
                      "functions": funcs,
                      "client": dict(got, returncode=cl.returncode, requests=requests,
                                     clients=clients)}), flush=True)
    return 0 if cl.returncode == 0 and served.requests == got["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
