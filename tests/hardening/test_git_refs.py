"""Release versions and refs follow git's ref rules: the plain function agrees with `git check-ref-format`."""

import shutil
import subprocess

import pytest

from core.git_refs import ref_problem

CASES = [
    "v2.0", "release/2.0", "main", "main@abc1234", "feature/ünïcode", "a.b-c_d+e", "v1.0-rc.1", "x@y", "@a",
    "a/b/c", "1", "-dash", "HEAD", "a.loc", "a.lockx",
    "", "@", "a b", "a\tb", "a\nb", "a\x01b", "a\x7fb", "a~1", "a^", "a:b", "a?", "a*", "a[b", "a\\b",
    "/a", "a/", "a//b", ".a", "a/.b", "a.", "a..b", "a@{1}", "a.lock", "a/b.lock/c", "a/.lock", "é.lock",
]  # fmt: skip


# Accepted by git's ref rules but refused here, as `git check-ref-format --branch` does: an option to a script.
STRICTER = {"-dash"}


@pytest.fixture(scope="module")
def git_verdicts():
    git = shutil.which("git")
    if git is None:
        pytest.fail("git is needed: this test compares the rules with git itself")
    verdicts = {}
    for name in CASES:
        if not name:
            continue
        # A leading dash would read as an option: git is asked about the full ref name then.
        args = [f"refs/heads/{name}"] if name.startswith("-") else ["--allow-onelevel", name]
        result = subprocess.run([git, "check-ref-format", *args], capture_output=True)
        verdicts[name] = result.returncode == 0
    return verdicts


@pytest.mark.parametrize("name", CASES)
def test_ref_problem__agrees_with_git_check_ref_format(name, git_verdicts):
    # Given what git says of this name (an empty name cannot be passed to git as an argument, and is refused)
    accepted_by_git = git_verdicts.get(name, False) if name else False
    if name in STRICTER:
        assert accepted_by_git and ref_problem(name) == "it starts with a dash"
        return
    # Then the rule accepts exactly what git accepts, and names the problem otherwise
    assert (ref_problem(name) == "") is accepted_by_git, ref_problem(name)


def test_ref_problem__refused__names_the_problem():
    assert ref_problem("v2..0") == "it contains two dots in a row"
    assert ref_problem("v2.0\n") == "it contains a control character"
