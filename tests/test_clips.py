"""Faces in video clips (facerec.video.clips, .facetracks, .clipfiles, .decode).

Real clips, built in tmp_path from the dev photos at run time: behaviour
clips are encoded with the H.264 encoder in PyAV's wheel; the container and
codec matrix, rotated phone clips and 10-bit HEVC with Debian's `ffmpeg`, an
encoder independent of the decoder (skipped without it, failed under CI).
Real models, no mocks, no timing assertions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from facerec.errors import VideoError
from facerec.video.clipfiles import clip_hash, is_video
from facerec.video.clips import analyze_clip
from facerec.video.decode import frame_at, open_clip
from facerec.video.suffixes import VIDEO_SUFFIXES
from facerec.vision.images import load_image
from tests.helpers import skip_or_fail
from tests.media import blank, canvas, pan_zoom, place

FPS = 15
THRESHOLD = 0.57


def encode(path: Path, frames: list[np.ndarray], fps: int = FPS, faststart: bool = False) -> Path:
    """H.264 (yuv420p) in MP4 with the encoder in PyAV's wheel: what Android phones write."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format="mp4", options=options) as out:
        stream = out.add_stream("libx264", rate=fps, options={"crf": "20", "preset": "veryfast", "g": str(fps)})
        stream.pix_fmt = "yuv420p"
        stream.height, stream.width = frames[0].shape[:2]
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        skip_or_fail("Debian's ffmpeg is not installed (apt-get install ffmpeg)")
    assert found is not None
    return found


def ffmpeg_encode(path: Path, frames: list[np.ndarray], args: list[str], fps: int = FPS) -> Path:
    """`frames` encoded by Debian's ffmpeg with `args` (codec, pixel format, tags)."""
    h, w = frames[0].shape[:2]
    cmd = [ffmpeg(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}"]
    cmd += ["-r", str(fps), "-i", "-", *args, str(path)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True, timeout=300)
    return path


def embedding_of(pipeline, photo: Path) -> np.ndarray:
    found = pipeline.analyze(load_image(photo).pixels)
    return max(found, key=lambda f: f.face.box.area).embedding


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(1 - np.dot(a, b))


@pytest.fixture(scope="module")
def people(faces):
    all_people = faces.people()
    return {name: all_people[name] for name in ("barack_obama", "joe_biden", "kit_harington", "rose_leslie")}


def test_two_people_one_after_the_other_give_one_track_each_with_their_time_spans(tmp_path, people, pipeline):
    obama, biden = people["barack_obama"], people["joe_biden"]
    frames = pan_zoom(obama[0], 4 * FPS) + blank(FPS // 2) + pan_zoom(biden[0], 4 * FPS)
    clip = encode(tmp_path / "two.mp4", frames)

    analysis = analyze_clip(clip, pipeline)

    assert len(analysis.tracks) == 2
    first, second = analysis.tracks
    assert first.start_s == pytest.approx(0.0, abs=0.3) and first.end_s == pytest.approx(4.0, abs=0.4)
    assert second.start_s == pytest.approx(4.5, abs=0.4) and second.end_s == pytest.approx(8.5, abs=0.4)
    assert first.start_s <= first.best_s <= first.end_s and second.start_s <= second.best_s <= second.end_s
    assert analysis.duration_s == pytest.approx(len(frames) / FPS, abs=0.1)
    assert len(frames) // 3 <= analysis.frames_decoded <= len(frames)  # B-frames are not decoded
    assert analysis.width == 640 and analysis.height == 480 and analysis.rotation == 0
    assert analysis.decoder.startswith("PyAV") and analysis.model == "sface"
    for track in analysis.tracks:
        assert track.face.landmarks is not None and track.face.landmarks.shape == (5, 2)
        assert 0.8 <= track.score <= 1.0 and track.sharpness is not None and track.sharpness > 0
        assert np.linalg.norm(track.embedding) == pytest.approx(1.0, abs=1e-4)
        assert 1 <= len(track.best) <= 3 and track.best[0].time_s == track.best_s


def test_a_person_registered_from_one_photo_matches_their_track(tmp_path, people, pipeline):
    obama, biden = people["barack_obama"], people["joe_biden"]
    frames = pan_zoom(obama[0], 3 * FPS) + pan_zoom(biden[0], 3 * FPS)
    analysis = analyze_clip(encode(tmp_path / "clip.mp4", frames), pipeline)
    registered = embedding_of(pipeline, obama[1])  # another photo of him than the one in the clip

    first, second = analysis.tracks
    assert distance(first.embedding, registered) <= THRESHOLD
    assert distance(second.embedding, registered) > THRESHOLD
    assert distance(second.embedding, embedding_of(pipeline, biden[1])) <= THRESHOLD


@pytest.mark.parametrize("dissolve_s", [0.0, 1.5], ids=["swap", "dissolve"])
def test_one_person_replaced_by_another_in_the_same_spot_splits_the_track(tmp_path, people, pipeline, dissolve_s):
    # No cut: Kit's photo becomes Rose's at 3 s, at the same place and size, at once (the
    # tracker's appearance gate sees it) or through a 1.5 s dissolve (each frame looks like the
    # one before: the embedding check must see it).
    kit = place(load_image(people["kit_harington"][0]).pixels, 380, 320, 240)
    rose = place(load_image(people["rose_leslie"][0]).pixels, 380, 320, 240)
    steps = int(dissolve_s * FPS)
    middle = [cv2.addWeighted(kit, 1 - i / steps, rose, i / steps, 0) for i in range(steps)]
    frames = [kit] * (3 * FPS) + middle + [rose] * (3 * FPS)
    analysis = analyze_clip(encode(tmp_path / "swap.mp4", frames), pipeline)

    assert len(analysis.tracks) == 2
    kit_track, rose_track = analysis.tracks
    assert distance(kit_track.embedding, embedding_of(pipeline, people["kit_harington"][1])) <= THRESHOLD
    assert distance(rose_track.embedding, embedding_of(pipeline, people["rose_leslie"][1])) <= THRESHOLD
    assert kit_track.end_s < rose_track.start_s
    assert 3.0 - 0.5 <= rose_track.start_s <= 3.0 + dissolve_s + 0.5


def test_a_person_who_leaves_and_comes_back_is_one_track_with_two_spans(tmp_path, people, pipeline):
    obama = people["barack_obama"][0]
    frames = pan_zoom(obama, 3 * FPS) + blank(3 * FPS) + pan_zoom(obama, 3 * FPS)
    analysis = analyze_clip(encode(tmp_path / "back.mp4", frames), pipeline)

    (track,) = analysis.tracks
    assert len(track.spans) == 2
    (a0, a1), (b0, b1) = track.spans
    assert a0 == pytest.approx(0, abs=0.3) and a1 == pytest.approx(3, abs=0.4)
    assert b0 == pytest.approx(6, abs=0.4) and b1 == pytest.approx(9, abs=0.4)


def test_a_clip_without_faces_has_no_tracks(tmp_path, pipeline):
    analysis = analyze_clip(encode(tmp_path / "empty.mp4", blank(2 * FPS)), pipeline)
    assert analysis.tracks == [] and analysis.frames_analyzed >= 8


def one_line_error(call, path: Path) -> str:
    with pytest.raises(VideoError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_files_that_are_not_readable_videos_give_one_line_naming_the_file(tmp_path, people, pipeline):
    good = encode(tmp_path / "good.mp4", pan_zoom(people["barack_obama"][0], 2 * FPS))
    data = good.read_bytes()
    cases = {
        "empty.mp4": b"",
        "text.mp4": b"hello, I am not a video\n",
        "random.mkv": np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes(),
        "no-index.mp4": data[: len(data) // 2],  # MP4 with its index at the end, cut short: nothing to read
        "photo.mov": cv2.imencode(".jpg", canvas())[1].tobytes(),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    with av.open(str(tmp_path / "sound-only.mp4"), "w") as out:  # an audio track, no picture
        stream = out.add_stream("aac", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 44100
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    (tmp_path / "folder.mp4").mkdir()
    os.mkfifo(tmp_path / "pipe.mp4")  # opening it for reading would wait forever
    names = [*cases, "sound-only.mp4", "folder.mp4", "pipe.mp4", "missing.mp4"]
    for name in names:
        path = tmp_path / name
        one_line_error(lambda path=path: analyze_clip(path, pipeline), path)
        one_line_error(lambda path=path: frame_at(path, 1.0), path)
    for name in ("folder.mp4", "pipe.mp4", "missing.mp4"):
        one_line_error(lambda name=name: clip_hash(tmp_path / name), tmp_path / name)


def test_a_truncated_clip_ends_cleanly_with_what_it_holds(tmp_path, people, pipeline):
    # Index first (as phones and `faststart` write), then cut at 60%: a copy in progress.
    frames = pan_zoom(people["barack_obama"][0], 6 * FPS)
    whole = encode(tmp_path / "whole.mp4", frames, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: int(whole.stat().st_size * 0.6)])

    analysis = analyze_clip(cut, pipeline)

    assert 0 < analysis.frames_decoded < len(frames)
    (track,) = analysis.tracks
    assert track.end_s < 6.0
    assert frame_at(cut, 100.0).shape == (480, 640, 3)


def numbered_frames(count: int, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:
    """Frames that show their number in binary: 8 squares, white for 1, black for 0."""
    w, h = size
    frames = []
    for i in range(count):
        frame = np.full((h, w, 3), 128, np.uint8)
        for bit in range(8):
            frame[100:140, bit * 40 : bit * 40 + 40] = 255 if i >> bit & 1 else 0
        frames.append(frame)
    return frames


def frame_number(image: np.ndarray) -> int:
    return sum(1 << bit for bit in range(8) if image[120, bit * 40 + 20].mean() > 128)


def test_frame_at_returns_the_frame_shown_at_that_time(tmp_path):
    clip = encode(tmp_path / "numbers.mp4", numbered_frames(100))  # 100 frames at 15 fps: 6.67 s
    for seconds, number in ((0.0, 0), (0.5, 7), (1.0, 15), (3.34, 50), (6.6, 99), (60.0, 99), (-1.0, 0)):
        assert frame_number(frame_at(clip, seconds)) == number, seconds
    with open_clip(clip) as opened:  # several frames from one open clip, in any order, after sampling it
        assert len(list(opened.samples(1.0))) == 7
        wanted = [75, 15, 30, 12, 24, 28, 48, 56, 76, 88, 92]  # several are B-frames, which sampling skips
        assert [frame_number(opened.frame_at(n / 15 + 0.01)) for n in wanted] == wanted


def portrait(photo: Path) -> list[np.ndarray]:
    """3 s of a 480x640 portrait frame (a phone held upright) with the face upright."""
    frame = np.full((640, 480, 3), 90, np.uint8)
    image = load_image(photo).pixels
    s = 380 / image.shape[0]
    small = cv2.resize(image, (int(image.shape[1] * s), 380), interpolation=cv2.INTER_AREA)[:, :460]
    frame[130 : 130 + small.shape[0], 240 - small.shape[1] // 2 : 240 - small.shape[1] // 2 + small.shape[1]] = small
    return [frame] * (3 * FPS)


@pytest.mark.parametrize(
    ("stored", "tag", "rotation"),
    [
        (cv2.ROTATE_90_COUNTERCLOCKWISE, "270", 90),  # an iPhone held upright: 'rotation of -90 degrees'
        (cv2.ROTATE_90_CLOCKWISE, "90", 270),
        (cv2.ROTATE_180, "180", 180),
    ],
)
def test_rotation_metadata_is_honoured(tmp_path, people, pipeline, stored, tag, rotation):
    # The sensor's landscape frames (the face sideways) with a display matrix that turns them upright.
    upright = portrait(people["barack_obama"][0])
    sideways = ffmpeg_encode(tmp_path / "sideways.mov", [cv2.rotate(f, stored) for f in upright], ["-c:v", "libx264"])
    clip = tmp_path / "phone.mov"
    subprocess.run(
        [
            ffmpeg(),
            "-y",
            "-loglevel",
            "error",
            "-i",
            str(sideways),
            "-c",
            "copy",
            "-metadata:s:v:0",
            f"rotate={tag}",
            str(clip),
        ],
        check=True,
        timeout=60,
    )

    analysis = analyze_clip(clip, pipeline)

    assert analysis.rotation == rotation
    assert (analysis.width, analysis.height) == (480, 640)
    (track,) = analysis.tracks
    assert distance(track.embedding, embedding_of(pipeline, people["barack_obama"][1])) <= THRESHOLD
    assert track.face.box.y + track.face.box.h < 640 and track.face.box.x + track.face.box.w < 480
    shown = frame_at(clip, 1.0)
    assert shown.shape == (640, 480, 3) and cv2.PSNR(shown, upright[0]) > 30


# (name, frames' size, ffmpeg arguments[, frame rate]): each container and codec facerec claims to read.
FORMATS = [
    ("h264.mp4", (320, 240), ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    (
        "hevc-iphone.mov",
        (320, 240),
        ["-c:v", "libx265", "-tag:v", "hvc1", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"],
    ),
    (
        "hevc10-hdr.mov",  # iPhone HDR: HEVC Main 10, BT.2020, HLG
        (320, 240),
        [
            "-vf",
            "scale=out_color_matrix=bt2020:out_range=tv",
            "-c:v",
            "libx265",
            "-tag:v",
            "hvc1",
            "-pix_fmt",
            "yuv420p10le",
        ]
        + [
            "-colorspace",
            "bt2020nc",
            "-color_primaries",
            "bt2020",
            "-color_trc",
            "arib-std-b67",
            "-x265-params",
            "log-level=error",
        ],
    ),
    ("hevc-android.mp4", (320, 240), ["-c:v", "libx265", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"]),
    ("h264.m4v", (320, 240), ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"]),
    ("h264.mkv", (320, 240), ["-c:v", "libx264", "-pix_fmt", "yuv420p"]),
    ("hevc.mkv", (320, 240), ["-c:v", "libx265", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"]),
    ("vp8.webm", (320, 240), ["-c:v", "libvpx", "-b:v", "1M", "-pix_fmt", "yuv420p"]),
    ("vp9.webm", (320, 240), ["-c:v", "libvpx-vp9", "-b:v", "1M", "-pix_fmt", "yuv420p", "-deadline", "realtime"]),
    ("av1.webm", (320, 240), ["-c:v", "libaom-av1", "-crf", "30", "-cpu-used", "8", "-pix_fmt", "yuv420p"]),
    ("mjpeg.avi", (320, 240), ["-c:v", "mjpeg", "-q:v", "3"]),
    ("xvid.avi", (320, 240), ["-c:v", "mpeg4", "-vtag", "XVID", "-q:v", "3"]),
    ("h263.3gp", (352, 288), ["-c:v", "h263"]),
    ("h264.3gp", (320, 240), ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "baseline"]),
    ("h263.3g2", (352, 288), ["-c:v", "h263"]),
    ("avchd.mts", (320, 240), ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mpegts"]),
    ("avchd.m2ts", (320, 240), ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mpegts", "-mpegts_m2ts_mode", "1"]),
    ("mpeg2.mpg", (320, 240), ["-c:v", "mpeg2video", "-q:v", "3"], 25),  # MPEG-1/2 know only the TV frame rates
    ("mpeg1.mpeg", (320, 240), ["-c:v", "mpeg1video", "-q:v", "3"], 25),
    ("wmv2.wmv", (320, 240), ["-c:v", "wmv2", "-q:v", "3"]),
]


def test_every_claimed_suffix_has_a_decoding_test():
    assert {Path(f[0]).suffix for f in FORMATS} == VIDEO_SUFFIXES
    assert is_video("/x/IMG_0001.MOV") and is_video("clip.webm") and not is_video("photo.jpg")


@pytest.mark.parametrize("case", FORMATS, ids=[f[0] for f in FORMATS])
def test_each_supported_container_and_codec_decodes(tmp_path, people, pipeline, case):
    name, (w, h), args, fps = (*case, FPS) if len(case) == 3 else case
    photo = load_image(people["barack_obama"][0]).pixels
    base = np.full((h, w, 3), 90, np.uint8)
    frames = [place(photo, int(h * 0.8), w // 2 + i, h // 2, base) for i in range(2 * fps)]
    clip = ffmpeg_encode(tmp_path / name, frames, args, fps)

    with open_clip(clip) as opened:
        info = opened.info
        sampled = sum(1 for _ in opened.samples(1 / fps, every_frame=True))
        decoded = opened.frames_decoded
    analysis = analyze_clip(clip, pipeline)

    assert decoded == len(frames) and 0 < analysis.frames_decoded <= len(frames)
    assert sampled >= len(frames) - 1  # a frame every 1/fps s: all of them, whatever the clock's rounding
    assert info.fps == pytest.approx(fps, rel=0.01) and info.duration_s == pytest.approx(2.0, abs=0.15)
    shown = frame_at(clip, 1.0)
    expected = frames[fps]
    if shown.shape != expected.shape:  # H.263 at 352x288 has 12:11 pixels: shown 384 wide
        assert shown.shape == (h, 384, 3)
        expected = cv2.resize(expected, (384, h), interpolation=cv2.INTER_LINEAR)
    assert cv2.PSNR(shown, expected) > 24
    (track,) = analysis.tracks
    assert distance(track.embedding, embedding_of(pipeline, people["barack_obama"][1])) <= THRESHOLD


def test_the_clip_hash_reads_a_few_chunks_and_follows_a_moved_file(tmp_path):
    big = tmp_path / "big.mov"
    with big.open("wb") as fh:  # 3 GB, sparse: hashing must not read it all
        fh.write(b"head" * 1000)
        fh.seek(3 * 1024**3 - 4000)
        fh.write(b"tail" * 1000)
    digest = clip_hash(big)
    assert len(digest) == 64 and int(digest, 16) >= 0
    moved = tmp_path / "moved" / "renamed.MOV"
    moved.parent.mkdir()
    big.rename(moved)
    assert clip_hash(moved) == digest

    with moved.open("r+b") as fh:  # a change in the last megabyte: another clip
        fh.seek(3 * 1024**3 - 10)
        fh.write(b"x")
    assert clip_hash(moved) != digest
    with moved.open("ab") as fh:  # another size: another clip
        fh.write(b"more")
    assert clip_hash(moved) != digest

    small = tmp_path / "small.mp4"
    small.write_bytes(b"a" * 5000)
    other = tmp_path / "other.mp4"
    other.write_bytes(b"a" * 4999 + b"b")
    assert clip_hash(small) != clip_hash(other)


def test_a_cut_between_shots_is_a_scene_cut_and_a_pan_is_not(tmp_path):
    rng = np.random.default_rng(3)
    shots = []
    for _ in range(2):
        field = cv2.resize(rng.integers(0, 255, (6, 12, 3), dtype=np.uint8), (960, 240), interpolation=cv2.INTER_CUBIC)
        shots.append([field[:, 8 * i : 8 * i + 320].copy() for i in range(2 * FPS)])  # a pan: 8 px a frame
    clip = encode(tmp_path / "cut.mp4", shots[0] + shots[1])

    with open_clip(clip) as opened:
        cuts = [s.time_s for s in opened.samples(0.25, every_frame=True) if s.scene_cut]

    assert cuts == [pytest.approx(2.0, abs=0.01)]


@pytest.mark.slow
def test_reading_clips_opens_no_network_connection_and_writes_nothing_to_home(tmp_path, people):
    strace = shutil.which("strace")
    if strace is None:
        skip_or_fail("strace is not installed (apt-get install strace)")
    clip = encode(tmp_path / "clip.mp4", pan_zoom(people["barack_obama"][0], 2 * FPS))
    home = tmp_path / "home"
    home.mkdir()
    script = (
        "import sys; from facerec.vision.pipeline import Pipeline;"
        "from facerec.video.clips import analyze_clip, clip_hash; from facerec.video.decode import frame_at;"
        "p = sys.argv[1];"
        "a = analyze_clip(p, Pipeline.load('yunet', 'sface')); frame_at(p, 1.0); clip_hash(p); print(len(a.tracks))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")} | {"HOME": str(home)}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    log = tmp_path / "clip.strace"
    r = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=connect,bind,sendto,sendmsg", "-e", "signal=none", "-o", str(log),
         sys.executable, "-c", script, str(clip)],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr
    assert [c for c in log.read_text().splitlines() if "AF_INET" in c] == []
    assert list(home.rglob("*")) == []
