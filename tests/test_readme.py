"""Every script command in the README's bash blocks parses with that script's own parser, and the
config files it names exist: a renamed flag or file shows up here, not in a user's terminal. (The
commands themselves are run at small scale by the script tests and by the quickstart test.)"""

import importlib
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[tuple[str, list[str]]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line.split(" #")[0])
            script = next((i for i, w in enumerate(words) if re.fullmatch(r"scripts/\w+\.py", w)), None)
            if script is not None:
                out.append((Path(words[script]).stem, words[script + 1:]))
    return out


COMMANDS = readme_commands()


def test_the_readme_has_script_commands():
    assert len(COMMANDS) >= 15
    assert {name for name, _ in COMMANDS} >= {"generate_scenarios_dataset", "validate_dataset", "train_scratch",
                                             "train_finetune", "run_evaluation", "render_comparison_gifs",
                                             "pack_dataset", "upload_to_hub", "generate_heldout_examples",
                                             "render_gallery"}


@pytest.mark.parametrize("name,argv", COMMANDS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(COMMANDS)])
def test_readme_command_parses(name, argv):
    argv = [a for a in argv if a != "..."]  # "..." stands for "the other flags as above"
    args = importlib.import_module(name).build_parser().parse_args(argv)  # exits 2 on an unknown flag
    config = getattr(args, "config", None)
    assert config is None or (ROOT / config).is_file(), config
