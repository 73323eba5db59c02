"""Driver for the signal tests: runs log capture in its own process and exits with its exit code.

Usage: python logcapture_child.py SHIP_DIR LOG_PATH -- COMMAND...
The log is shipped into SHIP_DIR (a directory standing in for the artifact store) under its key.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alpha_engine.pipeline import run_with_log_capture


class DirSink:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write_bytes(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def main(argv: list[str]) -> int:
    ship_dir, log_path, separator, *command = argv
    assert separator == "--", argv
    result = run_with_log_capture(command, slug="signal-test", log_path=Path(log_path),
                                  sink=DirSink(Path(ship_dir)), run_date="2024-01-05", host="driver")
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
