"""Tracking from Python: the assignment against SciPy's linear_sum_assignment
(the oracle the reference's LAPJV extension is checked with), Detector.track
against `dusk detect --track` on real video, and a Tracker fed by hand."""
import json
import subprocess

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import dusk

from dusk_test_paths import DUSK, CFG, WEIGHTS, NAMES
VTEST = "/usr/share/doc/opencv-doc/examples/data/vtest.avi"


def scipy_extended(cost, limit):
    """LAPJV's cost_limit as the lap package builds it: one dummy per row and column at limit / 2."""
    rows, cols = cost.shape
    n = rows + cols
    extended = np.full((n, n), limit / 2.0)
    extended[rows:, cols:] = 0
    extended[:rows, :cols] = cost
    r, c = linear_sum_assignment(extended)
    return sorted((int(i), int(j)) for i, j in zip(r, c) if i < rows and j < cols)


def matched_cost(cost, matches, limit):
    return sum(cost[i, j] - limit for i, j in matches)


@pytest.mark.parametrize("seed", range(40))
def test_linear_assignment_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    rows, cols = int(rng.integers(0, 30)), int(rng.integers(0, 30))
    ties = seed % 4 == 0  # a few distinct values: many optimal matchings
    cost = rng.integers(0, 5, (rows, cols)) / 4.0 if ties else rng.uniform(0, 1.3, (rows, cols))
    limit = [0.8, 0.5, 0.7, 2.0][seed % 4]
    matches, unmatched_rows, unmatched_cols = dusk.linear_assignment(cost, limit)
    expected = scipy_extended(cost, limit)
    assert matched_cost(cost, matches, limit) == pytest.approx(matched_cost(cost, expected, limit), abs=1e-9)
    if not ties:  # a unique optimum: the same pairs
        assert sorted(matches) == [m for m in expected if cost[m] < limit]
    assert all(cost[i, j] < limit for i, j in matches)
    assert sorted(unmatched_rows + [i for i, _ in matches]) == list(range(rows))
    assert sorted(unmatched_cols + [j for _, j in matches]) == list(range(cols))


def test_linear_assignment_sparse_crowd_against_scipy():
    """IoU-like costs of 200 boxes: mostly 1 (no overlap), groups joined by overlaps."""
    rng = np.random.default_rng(5)
    centres = rng.uniform(0, 2000, (200, 2))
    moved = centres + rng.normal(0, 8, centres.shape)
    distance = np.linalg.norm(centres[:, None, :] - moved[None, :, :], axis=2)
    cost = np.minimum(1.0, distance / 40.0)
    matches, _, _ = dusk.linear_assignment(cost, 0.8)
    expected = scipy_extended(cost, 0.8)
    assert matched_cost(cost, matches, 0.8) == pytest.approx(matched_cost(cost, expected, 0.8), abs=1e-9)
    assert sorted(matches) == [m for m in expected if cost[m] < 0.8]


def test_detector_track_equals_the_cli(tmp_path):
    frames = 120
    jsonl = tmp_path / "tracks.jsonl"
    subprocess.run([DUSK, "detect", CFG, WEIGHTS, VTEST, "--names", NAMES, "--track", "--max-frames", str(frames),
                    "--jsonl", str(jsonl)], check=True, capture_output=True)
    cli = [json.loads(line) for line in jsonl.read_text().splitlines()]
    detector = dusk.Detector(CFG, WEIGHTS, names=NAMES, threads=1)
    seen = 0
    for frame, line in zip(detector.track(VTEST), cli):
        assert frame.index == line["frame_id"]
        assert frame.timestamp_ms == pytest.approx(line["timestamp_ms"], abs=1e-3)
        assert [o.track_id for o in frame.objects] == [o["track_id"] for o in line["objects"]]
        for ours, theirs in zip(frame.objects, line["objects"]):
            assert ours.detection.class_id == theirs["class_id"]
            assert ours.detection.label == theirs["name"]
            assert ours.detection.confidence == pytest.approx(theirs["confidence"], abs=1e-6)
            assert ours.to_dict()["track_id"] == theirs["track_id"]
        seen += 1
        if seen == frames:
            break
    assert seen == frames


def test_tracker_fed_by_hand():
    tracker = dusk.Tracker(fps=25)
    assert tracker.buffer_frames == 25
    for f in range(10):
        people = [dusk.Detection(0, 0.9, (10.0 + 5 * f, 20.0, 40.0, 80.0), "person"),
                  dusk.Detection(0, 0.8, (300.0 - 5 * f, 20.0, 40.0, 80.0), "person"),
                  dusk.Detection(2, 0.3, (150.0, 150.0, 40.0, 40.0))]  # too weak to start a track
        tracked = tracker.update(people)
        assert [(t.track_id, t.detection.box[0]) for t in tracked] == [(1, 10.0 + 5 * f), (2, 300.0 - 5 * f)]
        assert tracked[0].detection.label == "person"
    assert tracker.frames == 10
    # Last seen in frame 10: marked removed when 25 frames have passed without
    # them (frame 36), gone from the lost list at the next frame's bookkeeping
    # (frame 37), as in the reference.
    for frame in range(11, 38):
        assert tracker.update([]) == []
        assert tracker.removed == ([1, 2] if frame == 37 else [])


@pytest.mark.parametrize("options", [dict(low=0.6, high=0.5), dict(high=1.0), dict(match=0), dict(buffer=-1),
                                     dict(fps=0)])
def test_tracker_refuses_bad_options(options):
    with pytest.raises(dusk.Error):
        dusk.Tracker(**options)
