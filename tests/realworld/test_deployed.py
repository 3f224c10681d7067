"""What an environment deploys, read by `promotion.deployed`, judged by the render oracle.

For every single-environment case of shared/realworld, the reference promoter reads for
the case's image in that environment must be the one the environment's renders hold (tag,
and digest where the render has one), or a refusal; a different version is a failure. A
render holding several versions of the image must be refused. This is what `promote --from
SRC` promotes, so a wrong read would promote the wrong version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promoter import config as configuration
from promoter.errors import PromoterError
from promoter.imageref import parse_image_ref
from promoter.promotion import deployed

from .oracle import (
    Failed,
    case_targets,
    find_shared,
    image_refs,
    load_cases,
    render,
    repo_snapshot,
    skip_reason,
)
from .oracle import parse_image_ref as oracle_ref

SHARED = find_shared()
CASES = [c for c in load_cases(SHARED) if "envs" not in c]


def _rendered(case: dict[str, Any], repo: Path) -> set[tuple[str | None, str | None]] | None:
    """(tag, digest) of every reference to the case's image in the env's renders."""
    image = oracle_ref(str(case["image"]))
    assert image is not None
    found: set[tuple[str | None, str | None]] = set()
    for key in case_targets(case)[str(case["env"])]:
        spec = case["renders"].get(key)
        if spec is None:
            return None
        try:
            value = render(repo, spec)
        except Exception:
            return None
        if isinstance(value, Failed):
            return None
        found |= {(r.tag, r.digest) for _, r in image_refs(value) if r.same_repository(image)}
    return found


@pytest.mark.parametrize("case", CASES, ids=[str(case["id"]) for case in CASES])
def test_deployed_reference_matches_the_render(case: dict[str, Any]) -> None:
    reason = skip_reason(case, SHARED)
    if reason is not None:
        pytest.skip(reason)
    repo = repo_snapshot(case, SHARED)
    expected = _rendered(case, repo)
    if expected is None:
        pytest.skip("the environment's render is not available offline")
    image = parse_image_ref(str(case["image"])).with_version(None, None)
    config_path = configuration.find_config(repo)
    config = configuration.load_config(config_path, root=repo) if config_path else None
    try:
        found = deployed.read(repo, config, str(case["env"]), image, None)
    except PromoterError:
        return  # a refusal is never a wrong answer
    held = sorted(map(str, expected))
    assert len(expected) == 1, f"read {found.image} where the render holds {held}"
    ((tag, digest),) = expected
    assert found.image.tag == tag, f"read {found.image}, render holds {tag}@{digest}"
    if digest is not None:
        assert found.image.digest == digest
