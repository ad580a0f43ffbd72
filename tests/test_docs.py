"""The plugin author's guide stays true: current hook reference, every hook tested, examples run."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from mediacore import hookdocs

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "plugins.md"


def test_hook_reference_is_current():
    assert hookdocs.update(GUIDE, check=True), "docs/plugins.md is stale: run `nox -s docs`"
    for name in hookdocs.hook_names():
        assert f"### `{name}(" in GUIDE.read_text()


def test_every_hook_has_a_test():
    sources = "".join(
        path.read_text() for path in (ROOT / "tests").glob("test_*.py") if path.name != "test_docs.py"
    )
    for name in hookdocs.hook_names():
        assert f"def {name}(" in sources, f"no test implements {name}"


def test_quickstart_plugin_from_the_guide_works(media_library, mediacore_client, register_plugin, tmp_path):
    code = re.search(r"<!-- quickstart:start -->\n```python\n(.*?)```", GUIDE.read_text(), re.S).group(1)
    module_path = tmp_path / "mediacore_titlefile.py"
    module_path.write_text(code)
    spec = importlib.util.spec_from_file_location("mediacore_titlefile", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    register_plugin(module, name="titlefile")

    # The guide's own test, as written there.
    video = media_library.add_video("Some Film/film.mkv")
    (video.parent / "title.txt").write_text("The Film")
    media_library.add_audio("a.mp3")
    media_library.scan()
    item = media_library.items(category="movies")[0]
    assert item.title == "The Film"
    assert mediacore_client.get(f"/api/v1/media/{item.id}").get_json()["title"] == "The Film"
    assert media_library.items(category="music")[0].metadata["loudness"] == "unknown"
