"""The demo's FAQ: posts that pass the FAQ's own checks, written once."""

from __future__ import annotations

import copy
from typing import Any

from redis.asyncio import Redis

from hub.app import build_context
from hub.config import Settings
from hub.demo import plans
from hub.demo.directory import build_demo_directory
from hub.demo.faq import plan_faq
from hub.demo.runner import seed_faq
from hub.directory.model import DirectoryFile
from hub.faq import text
from hub.faq.service import MAX_ANSWER, MAX_BODY, MAX_TITLE, MIN_TITLE


def _logins_and_directory() -> tuple[plans.Logins, Any]:
    directory = build_demo_directory()
    logins = plans.choose_logins(
        directory["tenants"], directory["caretakers"], directory["agents"]
    )
    return logins, directory


def test_posts_pass_the_faq_checks_and_come_from_the_right_people() -> None:
    logins, directory = _logins_and_directory()
    posts = plan_faq(
        directory["tenants"],
        directory["caretakers"],
        directory["agents"],
        reserved=logins.reserved_tenants,
    )
    tenants = {t["id"]: t for t in directory["tenants"]}
    staff = {c["id"] for c in directory["caretakers"]} | {
        a["id"] for a in directory["agents"]
    }
    assert len(posts) >= 5
    askers = [post.author_id for post in posts]
    assert len(set(askers)) == len(askers)  # one question each: no rate limit hit
    for post in posts:
        assert post.author_id in tenants
        assert post.author_id not in logins.reserved_tenants
        assert text.problem(post.title, "title", low=MIN_TITLE, high=MAX_TITLE) is None
        assert text.problem(post.body, "body", low=0, high=MAX_BODY) is None
        assert post.answers
        for answer in post.answers:
            assert answer.author_id in tenants or answer.author_id in staff
            assert answer.author_id != post.author_id
            assert text.problem(answer.body, "body", low=1, high=MAX_ANSWER) is None
    assert posts == plan_faq(
        directory["tenants"],
        directory["caretakers"],
        directory["agents"],
        reserved=logins.reserved_tenants,
    )
    # The radiator question is findable by a word in its answer.
    radiator = next(post for post in posts if "radiator" in post.title)
    assert "radiatorsleutel" in text.index_terms(*(a.body for a in radiator.answers))


async def test_the_demo_faq_is_written_once_and_is_searchable(
    redis_client: Redis, key_prefix: str
) -> None:
    logins, directory = _logins_and_directory()
    data: dict[str, Any] = copy.deepcopy(dict(directory))
    for group in ("caretakers", "tenants", "agents"):
        for user in data[group]:
            user.pop("password")
            user["password_hash"] = "not-used"
    hub = await build_context(Settings(key_prefix=key_prefix), redis_client)
    await hub.directory.load(DirectoryFile.model_validate(data))

    written = await seed_faq(hub, directory, logins.reserved_tenants)
    assert written >= 5
    assert await seed_faq(hub, directory, logins.reserved_tenants) == 0

    reader = await hub.directory.user(next(iter(logins.reserved_tenants)))
    assert reader is not None
    listed = await hub.faq.list_questions(reader, limit=50)
    assert len(listed.questions) == written
    page, _ = await hub.faq.search(reader, "radiatorsleutel")
    (found,) = page.questions
    detail = await hub.faq.get(reader, found["id"])
    assert [a["author"]["staff"] for a in detail["answers"]] == [False, True]
    assert detail["author"]["district"] is not None
