"""Demo script (Dihya catalog: disk-report): disk usage of a folder and its largest entries.

Run by Dihya as ``python3 -I disk_report.py --path=/tmp`` in a sandbox; prints a short report."""

import argparse
import contextlib
import os
import shutil


def size_of(path: str) -> int:
    if os.path.islink(path) or not os.path.isdir(path):
        try:
            return os.lstat(path).st_size
        except OSError:
            return 0
    total = 0
    for root, _dirs, files in os.walk(path, onerror=lambda _err: None):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--path", required=True)
    folder = parser.parse_args().path
    usage = shutil.disk_usage(folder)
    print(f"{folder}: {usage.used / 2**30:.1f} GiB used of {usage.total / 2**30:.1f} GiB "
          f"({100 * usage.used / usage.total:.0f} %)")
    try:
        entries = [os.path.join(folder, name) for name in os.listdir(folder)]
    except OSError as err:
        print(f"cannot list {folder}: {err.strerror}")
        return
    sizes = sorted(((size_of(e), e) for e in entries[:200]), reverse=True)[:5]
    for size, entry in sizes:
        print(f"{size / 2**20:10.1f} MiB  {entry}")


if __name__ == "__main__":
    main()
