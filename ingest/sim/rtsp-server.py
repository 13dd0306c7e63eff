#!/usr/bin/python3
"""Simulated camera fleet: an RTSP server with mount points /cam1../camN looping H.264 mp4 clips.

Run with Debian's /usr/bin/python3 (it has `gi`; a pyenv python usually does not).

    /usr/bin/python3 ingest/sim/rtsp-server.py --port 8554 --count 4 --clip data/sim/clip.mp4

How it works (the recipe in shared/FACTS.md, the one that held up):
  * one reader pipeline per clip, `filesrc ! qtdemux ! h264parse ! appsink sync=true`, paced in real time
    by the appsink clock and seeked back to the start at end of stream (looping forever);
  * every RTSP client gets its own media pipeline `appsrc is-live=true do-timestamp=true ! h264parse !
    rtph264pay`; the reader pushes each access unit into every attached appsrc with its timestamps cleared,
    so the appsrc stamps them on arrival and the loop point is invisible to clients;
  * a client starts at a keyframe (SPS/PPS travel in-band before each IDR), and a client that falls behind
    is skipped to the next keyframe instead of being buffered without bound;
  * nothing is re-encoded. Clips with a 1 s keyframe interval and no B-frames behave best.

Clips are assigned to mounts round-robin: --clip a.mp4 --clip b.mp4 gives cam1=a, cam2=b, cam3=a, ...
Only RTSP over TCP (interleaved) is offered.

Prints `READY rtsp://ADDRESS:PORT/cam1 rtsp://...` on stdout once serving (--port 0 picks a free port and
the line names it). Exits 0 on SIGTERM/SIGINT (and on end of stdin with --watch-stdin, so that the server
dies with the process that started it), 2 on bad arguments, 3 when GStreamer pieces are missing, 4 when
the port cannot be bound, 1 on a pipeline error. --check only checks GStreamer (prints OK).
"""

import argparse
import os
import signal
import sys
import threading

INSTALL_HINT = (
    "apt-get install -y gstreamer1.0-rtsp gir1.2-gst-rtsp-server-1.0 python3-gi python3-gst-1.0 "
    "gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav"
)
REQUIRED_ELEMENTS = ("filesrc", "qtdemux", "h264parse", "appsink", "appsrc", "rtph264pay")

EXIT_PIPELINE_ERROR = 1
EXIT_BIND_FAILED = 4
EXIT_MISSING = 3


def log(message):
    try:
        print(f"rtsp-server: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        # Whoever read our stderr is gone (the parent died): logging must not stop a shutdown.
        pass


def missing(what):
    print(f"MISSING {what}; install with: {INSTALL_HINT}", file=sys.stderr, flush=True)
    sys.exit(EXIT_MISSING)


try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtsp, GstRtspServer
except (ImportError, ValueError) as exc:  # ValueError: typelib not installed
    missing(f"python GStreamer bindings ({exc})")


class Target:
    """One client's appsrc, fed by a ClipReader."""

    def __init__(self, appsrc, name):
        self.appsrc = appsrc
        self.name = name
        self.need_keyframe = True
        self.enough = False
        self.closed = False
        appsrc.connect("need-data", self._on_need_data)
        appsrc.connect("enough-data", self._on_enough_data)

    def _on_need_data(self, _src, _length):
        self.enough = False

    def _on_enough_data(self, _src):
        self.enough = True

    def offer(self, buffer, is_keyframe):
        if self.closed:
            return
        if self.enough:
            # The client is not keeping up: skip to the next keyframe rather than queue without bound.
            self.need_keyframe = True
            return
        if self.need_keyframe and not is_keyframe:
            return
        self.need_keyframe = False
        out = buffer.copy()  # shares the memory; only the metadata is copied
        out.pts = Gst.CLOCK_TIME_NONE
        out.dts = Gst.CLOCK_TIME_NONE
        out.unset_flags(Gst.BufferFlags.DISCONT)
        result = self.appsrc.emit("push-buffer", out)
        if result != Gst.FlowReturn.OK:
            # FLUSHING while the client tears down, EOS after it left: stop feeding it.
            self.closed = True


class ClipReader:
    """Reads one clip in real time and loops it forever, fanning access units out to targets."""

    def __init__(self, path, on_fatal):
        self.path = path
        self.caps = None
        self.caps_ready = threading.Event()
        self._targets = []
        self._lock = threading.Lock()
        self._on_fatal = on_fatal
        self.pipeline = Gst.parse_launch(
            "filesrc name=file ! qtdemux name=demux demux.video_0 ! queue max-size-buffers=32 "
            "! h264parse config-interval=-1 "
            "! video/x-h264,stream-format=byte-stream,alignment=au "
            "! appsink name=sink sync=true emit-signals=true max-buffers=4 drop=false"
        )
        self.pipeline.get_by_name("file").set_property("location", path)
        self.pipeline.get_by_name("sink").connect("new-sample", self._on_sample)
        bus = self.pipeline.get_bus()
        bus.add_signal_watch()
        bus.connect("message", self._on_message)

    def start(self):
        if self.pipeline.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            self._on_fatal(f"cannot play {self.path}")

    def stop(self):
        self.pipeline.set_state(Gst.State.NULL)

    def attach(self, target):
        with self._lock:
            self._targets.append(target)

    def detach(self, target):
        target.closed = True
        with self._lock:
            if target in self._targets:
                self._targets.remove(target)

    def _on_sample(self, sink):
        sample = sink.emit("pull-sample")
        if sample is None:
            return Gst.FlowReturn.FLUSHING
        if self.caps is None:
            self.caps = sample.get_caps()
            self.caps_ready.set()
        buffer = sample.get_buffer()
        is_keyframe = not buffer.has_flags(Gst.BufferFlags.DELTA_UNIT)
        with self._lock:
            targets = list(self._targets)
        for target in targets:
            target.offer(buffer, is_keyframe)
        return Gst.FlowReturn.OK

    def _on_message(self, _bus, message):
        if message.type == Gst.MessageType.EOS:
            # Loop: seeking inside the RTSP media pipelines stalls; seeking this reader does not.
            ok = self.pipeline.seek_simple(
                Gst.Format.TIME, Gst.SeekFlags.FLUSH | Gst.SeekFlags.KEY_UNIT, 0
            )
            if not ok:
                self._on_fatal(f"cannot seek {self.path} back to its start")
        elif message.type == Gst.MessageType.ERROR:
            err, debug = message.parse_error()
            self._on_fatal(f"{self.path}: {err.message} ({debug})")


class Fleet:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.exit_code = 0
        self.readers = [ClipReader(os.path.abspath(p), self.fatal) for p in args.clip]
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(args.address)
        self.server.set_service(str(args.port))
        # The default pool has ONE thread for all clients, and a client blocks its thread while its media
        # prerolls (up to a keyframe interval): clients connecting together would be served one after
        # another, ~1 s each. A thread per client (bounded) lets them all start within one interval.
        self.server.get_thread_pool().set_max_threads(min(max(4, 2 * args.count), 256))
        mounts = self.server.get_mount_points()
        for index in range(args.count):
            reader = self.readers[index % len(self.readers)]
            factory = GstRtspServer.RTSPMediaFactory()
            factory.set_launch(
                "( appsrc name=src is-live=true do-timestamp=true format=time "
                "max-bytes=4000000 block=false "
                "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
            )
            # One media per client: each client starts at a keyframe of its own.
            factory.set_shared(False)
            factory.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
            name = f"cam{index + 1}"
            factory.connect("media-configure", self._on_media_configure, reader, name)
            mounts.add_factory(f"/{name}", factory)

    def fatal(self, message):
        log(f"fatal: {message}")
        self.exit_code = EXIT_PIPELINE_ERROR
        GLib.idle_add(self.loop.quit)

    def _on_media_configure(self, _factory, media, reader, name):
        appsrc = media.get_element().get_by_name_recurse_up("src")
        appsrc.set_property("caps", reader.caps)
        target = Target(appsrc, name)
        reader.attach(target)
        media.connect("unprepared", lambda _media: reader.detach(target))

    def run(self):
        for reader in self.readers:
            reader.start()
        # The appsrc caps (profile, size, framerate) come from each clip's first access unit.
        context = self.loop.get_context()
        deadline = GLib.get_monotonic_time() + 10_000_000
        while not all(r.caps_ready.is_set() for r in self.readers):
            if self.exit_code != 0 or GLib.get_monotonic_time() > deadline:
                if self.exit_code == 0:
                    log("fatal: no video from the clip(s) within 10 s (H.264 in mp4 expected)")
                    self.exit_code = EXIT_PIPELINE_ERROR
                self.shutdown()
                return self.exit_code
            context.iteration(False)
            GLib.usleep(5_000)

        if self.server.attach(None) == 0:
            log(f"fatal: cannot listen on {self.args.address}:{self.args.port}")
            self.shutdown()
            return EXIT_BIND_FAILED
        port = self.server.get_bound_port()
        host = self.args.address if self.args.address not in ("0.0.0.0", "::") else "127.0.0.1"
        urls = " ".join(f"rtsp://{host}:{port}/cam{i + 1}" for i in range(self.args.count))
        try:
            print(f"READY {urls}", flush=True)
        except OSError:
            log("fatal: nobody reads stdout")
            self.shutdown()
            return EXIT_PIPELINE_ERROR

        for signum in (signal.SIGTERM, signal.SIGINT):
            GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, self._on_signal, signum)
        if self.args.watch_stdin:
            GLib.io_add_watch(
                sys.stdin.fileno(), GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, self._on_stdin
            )
        self.loop.run()
        self.shutdown()
        return self.exit_code

    def _on_signal(self, signum):
        self.loop.quit()
        log(f"signal {signal.Signals(signum).name}: stopping")
        return GLib.SOURCE_REMOVE

    def _on_stdin(self, fd, condition):
        data = b""
        if condition & GLib.IO_IN:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
        if data:
            return GLib.SOURCE_CONTINUE
        self.loop.quit()
        log("stdin closed: stopping")
        return GLib.SOURCE_REMOVE

    def shutdown(self):
        # Close client connections first so that clients see the end of their stream at once.
        self.server.client_filter(lambda _server, _client: GstRtspServer.RTSPFilterResult.REMOVE)
        for reader in self.readers:
            reader.stop()


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Simulated RTSP camera fleet (GStreamer, no re-encoding)")
    parser.add_argument("--port", type=int, default=8554, help="TCP port (0: any free port)")
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--count", type=int, default=4, help="number of mount points /cam1../camN")
    parser.add_argument("--clip", action="append", help="H.264 mp4 clip; repeat to assign clips round-robin")
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin reaches end of file")
    parser.add_argument("--check", action="store_true", help="check that GStreamer is complete, print OK, exit")
    args = parser.parse_args(argv)
    if args.check:
        return args
    if not args.clip:
        parser.error("at least one --clip is required")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be within 0..65535")
    if args.count < 1:
        parser.error("--count must be at least 1")
    for clip in args.clip:
        if not os.path.isfile(clip):
            parser.error(f"clip not found: {clip}")
    return args


def main(argv):
    args = parse_args(argv)
    Gst.init(None)
    absent = [name for name in REQUIRED_ELEMENTS if Gst.ElementFactory.find(name) is None]
    if absent:
        missing(f"GStreamer elements {', '.join(absent)}")
    if args.check:
        print(f"OK {Gst.version_string()}", flush=True)
        return 0
    return Fleet(args).run()


def exit_quietly(code):
    """Exits with `code` even when stdout's reader is gone (no BrokenPipeError at interpreter exit)."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(code)


if __name__ == "__main__":
    exit_quietly(main(sys.argv[1:]))
