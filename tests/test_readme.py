"""The README's set-up commands are the ones CI runs."""

from tests.helpers.paths import REPO


def test_ci_runs_the_readme_test_command():
    ci_line = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line.startswith("python3 -m venv")]
    assert len(ci_line) == 1
    assert ci_line[0] in (REPO / "README.md").read_text()
