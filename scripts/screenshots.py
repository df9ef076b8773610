"""Screenshots of every page for the docs, from real runs on the real Fashion-MNIST.

Trains the classic pair — 128 and 1024 hidden units, the full 5 epochs each (``--epochs``),
everything else default — through the library on the real data (about 30 s on the 2-core
development machine; with the classic pair over 3 seeds for Compare, ``--only class,compare-seeds``
took 285 s there), starts the app on them in a temporary lab home as ``streamlit run app.py``
does, and saves, with a tall 1400×2200 viewport (Streamlit's main area scrolls inside its own
container, so a full-page screenshot would not grow; see ``lab_server.VIEWPORT``):

    home.png  train.png  confusion.png  predictions.png  compare.png   the finished runs, and
    gallery.png  inside.png  sweep.png  bias-lab.png  lessons.png       the other pages
    train-live.png                                                     a third run, started with the
                                                                       Train button, while it trains
    explain.png  canvas.png                                            Predictions' "Why this answer?"
                                                                       and its canvas after a stroke
    1024/<page>.png  1920/<page>.png                                   every page at laptop (1024×768)
                                                                       and desktop (1920×1080) sizes
    class.png  class-projector.png                                     the Class page as the instructor
                                                                       sees it, and its projector mode
    compare-seeds.png                                                  Compare over seeds: the classic
                                                                       pair, 3 seeds each (``--seeds``)

``--only class,compare-seeds`` takes only those (after training what they need), leaving the others.

Usage (from the repository root):

    .venv/bin/python scripts/screenshots.py --out docs/screenshots

Needs the data set (see the README's Data section; downloads are off here) and Debian's
Chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import lab_server  # beside this file

sys.path.insert(0, str(lab_server.ROOT))  # fmnist_lab, wherever the script is started from

from fmnist_lab import RunStore, TrainConfig  # noqa: E402
from fmnist_lab.execution.ownership import INSTRUCTOR_ENV  # noqa: E402
from fmnist_lab.training.data import DataError, Dataset, load_dataset  # noqa: E402
from fmnist_lab.ui import navigation  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Page

EPOCHS = 5
UNITS = (128, 1024)
LIVE_EPOCHS = 10  # long enough to catch the live chart mid-run
SLIDER_EPOCHS = 5  # the Epochs slider's default
TRAINING_TIMEOUT = 180.0  # seconds for the live run to show two epochs
SEEDS = 3  # per side of the classic pair, for compare-seeds.png
ONLY = ("pages", "live", "explain", "screens", "class", "compare-seeds")  # what --only may name


SCREENS = ((1024, 768), (1920, 1080))  # 1024/<page>.png, 1920/<page>.png
SHOWN_WITH_THE_RUN = (navigation.TRAIN, navigation.CONFUSION, navigation.PREDICTIONS, navigation.INSIDE)


def shot_name(page: navigation.LabPage) -> str:
    """``home``, ``train``, ``bias-lab``: the PNG's name (the README shows them)."""
    return page.url_path.lower().replace("_", "-") or "home"


PAGES = tuple(  # name, address ({run}: the 128-unit run), for every page of the app
    (shot_name(page), page.address + ("?run={run}" if page in SHOWN_WITH_THE_RUN else "")) for page in navigation.PAGES
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=lab_server.ROOT / "docs" / "screenshots", help="folder for PNGs")
    parser.add_argument("--port", type=int, default=0, help="port for the app (default: a free one)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs of each run (default: {EPOCHS})")
    parser.add_argument("--seeds", type=int, default=SEEDS, help=f"seeds per side for Compare (default: {SEEDS})")
    parser.add_argument(
        "--only", type=lambda text: text.split(","), default=list(ONLY), help=f"some of {','.join(ONLY)} (default: all)"
    )
    args = parser.parse_args(argv)
    if unknown := set(args.only) - set(ONLY):
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}; choose from {', '.join(ONLY)}")
    return args


def train_pair(store: RunStore, dataset: Dataset, epochs: int) -> list[str]:
    """The 128- and 1024-unit runs, trained here; returns their ids in that order."""
    from fmnist_lab.training.train import train_run  # imports TensorFlow

    ids = []
    for units in UNITS:
        run = store.create(TrainConfig(hidden_units=(units,), epochs=epochs))
        result = train_run(store, run.id, dataset=dataset)
        print(f"trained {run.name}: test accuracy {result.test_accuracy:.3f}", flush=True)
        ids.append(run.id)
    return ids


def train_groups(home: Path, epochs: int, seeds: int) -> None:
    """The classic pair over ``seeds`` seeds each, as groups, through ``train --repeats`` (one vectorised run)."""
    for units in UNITS:
        argv = [sys.executable, "-m", "fmnist_lab", "train", "--hidden-units", str(units), "--epochs", str(epochs)]
        argv += ["--repeats", str(seeds)]
        env = lab_server.server_env(home)
        subprocess.run(argv, cwd=lab_server.ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"trained {units} units over {seeds} seeds", flush=True)


def shoot(page: Page, url: str, path: Path) -> None:
    lab_server.goto(page, url)
    lab_server.wait_drawn(page)
    page.screenshot(path=str(path))
    if page.get_by_test_id("stException").count():
        raise RuntimeError(f"{url} shows an exception; see {path}")
    print(f"saved {path}", flush=True)


def shoot_live(page: Page, server: lab_server.LabServer, path: Path) -> None:
    """Start a run with the Train button and take the page once two epochs are on its chart."""
    lab_server.goto(page, f"{server.url}/Train")
    thumb = page.get_by_role("slider", name="Epochs")
    thumb.focus()
    for _ in range(LIVE_EPOCHS - SLIDER_EPOCHS):
        lab_server.interact(page, lambda: thumb.press("ArrowRight"))
    lab_server.interact(page, page.locator(".st-key-train_start").get_by_role("button").click)
    points = "() => [...document.querySelectorAll('.js-plotly-plot')].flatMap((el) => el.data ?? [])"
    points += ".some((t) => t.name === 'Training loss' && t.x.length >= 2)"
    page.wait_for_function(points, timeout=TRAINING_TIMEOUT * 1000)
    lab_server.wait_drawn(page)
    page.screenshot(path=str(path))
    print(f"saved {path}", flush=True)
    page.locator(".st-key-train_stop").get_by_role("button").click()
    page.get_by_text("Why training ended").wait_for(timeout=60_000)


def shoot_explain(page: Page, server: lab_server.LabServer, run: str, out: Path) -> None:
    """Predictions' "Why this answer?" section, then its canvas after one white stroke."""
    lab_server.goto(page, f"{server.url}/Predictions?run={run}")
    lab_server.wait_drawn(page)
    heading = page.get_by_role("heading", name="Why this answer?")
    heading.evaluate("(el) => el.scrollIntoView({block: 'start'})")
    lab_server.wait_drawn(page)
    page.screenshot(path=str(out / "explain.png"))
    canvas = page.locator("canvas.upper-canvas").first
    canvas.evaluate("(el) => el.scrollIntoView({block: 'center'})")
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 0.25 * box["width"], box["y"] + 0.35 * box["height"])
    page.mouse.down()
    for step in range(1, 21):
        page.mouse.move(box["x"] + (0.25 + 0.025 * step) * box["width"], box["y"] + 0.35 * box["height"])
    page.mouse.up()
    page.get_by_text("Softmax output").last.wait_for()
    page.wait_for_timeout(3000)  # the fragment's rerun has no page-run counter to wait on; only a picture
    lab_server.wait_drawn(page)
    top = page.get_by_role("heading", name="Edit the image and watch the answer").bounding_box()
    assert top is not None
    page.screenshot(path=str(out / "canvas.png"), clip={"x": 0, "y": top["y"] - 10, "width": 1400, "height": 720})
    print(f"saved {out / 'explain.png'} and {out / 'canvas.png'}", flush=True)


def shoot_class(page: Page, server: lab_server.LabServer, out: Path) -> None:
    """The Class page once the instructor's key is entered, then its projector mode."""
    lab_server.goto(page, f"{server.url}/Class")
    page.get_by_test_id("stSidebar").get_by_text("Instructor", exact=True).click()
    entry = page.get_by_label("Instructor key", exact=True).and_(page.locator("input"))
    entry.fill(server.env[INSTRUCTOR_ENV])
    lab_server.interact(page, lambda: entry.press("Enter"))
    shoot(page, f"{server.url}/Class", out / "class.png")
    shoot(page, f"{server.url}/Class?projector=1", out / "class-projector.png")


def take_screenshots(server: lab_server.LabServer, small: str, out: Path, only: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = lab_server.launch_browser(playwright)
        page = lab_server.new_page(browser)
        pages = [(name, path.format(run=small)) for name, path in PAGES if name != "class"]  # Class: as instructor
        for name, path in pages if "pages" in only else []:
            shoot(page, server.url + path, out / f"{name}.png")
        if "compare-seeds" in only:  # the newest two groups: 128 vs 1024 units
            shoot(page, f"{server.url}/Compare", out / "compare-seeds.png")
        if "class" in only:
            shoot_class(lab_server.new_page(browser), server, out)
        if "live" in only:
            shoot_live(lab_server.new_page(browser), server, out / "train-live.png")
        if "explain" in only:
            shoot_explain(lab_server.new_page(browser), server, small, out)
        for width, height in SCREENS if "screens" in only else []:  # a laptop and a desktop screen
            screen = lab_server.new_page(browser, width, height)
            (out / str(width)).mkdir(exist_ok=True)
            for name, path in pages:
                shoot(screen, server.url + path, out / str(width) / f"{name}.png")
        browser.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not lab_server.CHROMIUM.exists():
        sys.exit(f"Debian's chromium is not installed ({lab_server.CHROMIUM}): apt-get install chromium")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fmnist-screenshots-") as tmp:
        home = Path(tmp)
        os.environ |= {"FMNIST_LAB_HOME": str(home), "FMNIST_DOWNLOAD": "0"}  # the data cache goes here too
        try:
            dataset = load_dataset()
        except DataError as exc:
            sys.exit(str(exc))
        print(f"data: {dataset.source}", flush=True)
        small, _ = train_pair(RunStore(home / "runs"), dataset, args.epochs)
        if "compare-seeds" in args.only:
            train_groups(home, args.epochs, args.seeds)
        args.out.mkdir(parents=True, exist_ok=True)
        env = {INSTRUCTOR_ENV: secrets.token_urlsafe(16), "FMNIST_WARM_WORKERS": "0"}  # no warm-up runs in shots
        with lab_server.running_server(home, port=args.port or None, env=env) as server:
            take_screenshots(server, small, args.out, args.only)
    print(f"done in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
