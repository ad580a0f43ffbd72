"""Building large libraries fast: real media files hard-linked under realistic names."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mediacore.samples import tag_audio, write_audio, write_video


def sources(folder: Path) -> dict[str, Path]:
    """A few real media files to link from."""
    folder.mkdir(parents=True, exist_ok=True)
    found = {
        "video": folder / "source.mp4",
        "video2": folder / "source.mkv",
        "audio": folder / "source.mp3",
        "audio2": folder / "source.flac",
    }
    for key, path in found.items():
        if not path.exists():
            if key.startswith("video"):
                write_video(path, seconds=2.0)
            else:
                write_audio(path, seconds=2.0)
                tag_audio(path, {"title": "Bench Song", "artist": "Bench Artist", "album": "Bench Album"})
    return found


def video_names(count: int) -> list[str]:
    names: list[str] = []
    show = 0
    while len(names) < count:
        show += 1
        if show % 3 == 0:
            names.append(
                f"Movie Title {show:05d} ({1950 + show % 70})/Movie Title {show:05d} ({1950 + show % 70}).mkv"
            )
            continue
        for season in range(1, 6):
            for episode in range(1, 11):
                names.append(
                    f"Show {show:05d}/Season {season:02d}/Show {show:05d} - S{season:02d}E{episode:02d}.mp4"
                )
    return names[:count]


def audio_names(count: int) -> list[str]:
    return [
        f"Artist {index // 120:04d}/Album {index // 12:05d}/{index % 12 + 1:02d} - Track {index}.mp3"
        for index in range(count)
    ]


MAX_LINKS = 60_000  # ext4 allows 65,000 names per inode


def populate(root: Path, names: list[str], source: Path, alternate: Path) -> None:
    """Hard-link the sources under ``names`` (a fresh copy of a source when its link count is full)."""
    current = {source: source, alternate: alternate}
    for name in names:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            continue
        original = alternate if name.endswith((".mkv", ".flac")) else source
        if current[original].stat().st_nlink >= MAX_LINKS:
            copy = original.with_name(f"{original.stem}.{current[original].stat().st_ino}{original.suffix}")
            shutil.copyfile(original, copy)
            current[original] = copy
        os.link(current[original], target)


def build(work: Path, files: int, video_share: float) -> tuple[Path, Path]:
    """A tree of ``files`` real media files (video and music) and a config for it: (tree, config)."""
    from common import write_config

    source = sources(work / "sources")
    tree = work / "tree"
    video_count = int(files * video_share)
    populate(tree / "Video", video_names(video_count), source["video"], source["video2"])
    populate(tree / "Music", audio_names(files - video_count), source["audio"], source["audio2"])
    config = write_config(
        work,
        {
            "video": {"root_path": str(tree / "Video"), "media_type": "video", "extensions": ["mp4", "mkv"]},
            "music": {"root_path": str(tree / "Music"), "media_type": "audio", "extensions": ["mp3", "flac"]},
        },
    )
    return tree, config
