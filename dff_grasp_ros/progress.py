"""Progress bars for long work on the command line (tqdm), as callbacks the library functions accept."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def progress_bar(desc: str) -> Iterator[Callable[[int, int], None]]:
    """A ``progress(done, total)`` callback drawing one bar."""
    from tqdm import tqdm

    bar = tqdm(desc=desc, total=1, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        bar.total = max(int(total), 1)
        bar.n = int(done)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()


@contextmanager
def training_bar() -> Iterator[Callable[..., None]]:
    """A ``progress(step, total, losses, eta_s)`` callback for field training."""
    from tqdm import tqdm

    bar = tqdm(desc="train field", total=1, dynamic_ncols=True)

    def update(step: int, total: int, losses: dict, eta_s: float) -> None:
        bar.total = max(int(total), 1)
        bar.n = int(step)
        if losses:
            bar.set_postfix(loss=f"{losses.get('loss', sum(losses.values())):.4f}", eta=f"{eta_s:.0f}s",
                            refresh=False)
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
