"""Run work over many tenant schemas in a few forked processes, each with its own connection.

More than 2 processes gains nothing on a 2-core machine; the database does most of the work.
"""

import multiprocessing
import signal
from collections.abc import Callable, Iterable, Sequence

from django.db import connections


def chunked(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ignore_interrupts():
    # Ctrl-C reaches the whole process group: the parent stops the pool (terminate), so the
    # children must not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_chunk(args):
    func, chunk = args
    try:
        return func(chunk)
    finally:
        # A connection that created or altered many schemas holds their catalog entries: drop it.
        connections.close_all()


def run_in_chunks(
    func: Callable[[Sequence], list],
    items: Sequence,
    *,
    processes: int,
    chunk_size: int,
    progress,
) -> list:
    """Call func(chunk) for every chunk of items; return the concatenated results.

    func returns one result per item in its chunk. With processes <= 1 everything runs here, on
    this process's connection (and inside its transaction, if any).
    """
    results: list = []
    chunks = list(chunked(items, chunk_size))
    if processes <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            results.extend(func(chunk))
            progress.update(len(chunk))
        return results
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=_ignore_interrupts) as pool:
        for chunk_results in pool.imap_unordered(_run_chunk, [(func, c) for c in chunks]):
            results.extend(chunk_results)
            progress.update(len(chunk_results))
    return results
