"""The request's loaders fetch every key asked for in one turn with one call, once."""

from __future__ import annotations

import asyncio

import pytest

from schema.loaders import BatchLoader, WrongNumberOfValues


class Squares:
    """A batch function that records each call it answers."""

    def __init__(self, *, fail: bool = False, answers: int | None = None) -> None:
        self.calls: list[list[int]] = []
        self.fail = fail
        self.answers = answers
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, keys: list[int]) -> list[int]:
        self.calls.append(list(keys))
        await self.release.wait()
        if self.fail:
            raise LookupError("the database is gone")
        return [key * key for key in keys][: self.answers]


async def test_keys_asked_for_in_one_turn_are_fetched_in_one_call() -> None:
    fetch = Squares()
    loader = BatchLoader(fetch)

    many, one, other = await asyncio.gather(
        loader.load_many([3, 1, 2]), loader.load(4), loader.load_many([2, 5])
    )

    assert (many, one, other) == ([9, 1, 4], 16, [4, 25])
    assert fetch.calls == [[3, 1, 2, 4, 5]]


async def test_a_key_is_fetched_once_per_loader() -> None:
    fetch = Squares()
    loader = BatchLoader(fetch)

    assert await loader.load_many([1, 1, 2]) == [1, 1, 4]
    assert await loader.load_many([2, 1, 3]) == [4, 1, 9]

    assert fetch.calls == [[1, 2], [3]]


async def test_a_key_already_being_fetched_waits_for_that_fetch() -> None:
    fetch = Squares()
    fetch.release.clear()
    loader = BatchLoader(fetch)
    first = asyncio.ensure_future(loader.load_many([1, 2]))
    await asyncio.sleep(0.01)  # the batch of 1 and 2 is now being fetched

    second = asyncio.ensure_future(loader.load_many([2, 3]))
    await asyncio.sleep(0.01)
    fetch.release.set()

    assert await first == [1, 4]
    assert await second == [4, 9]
    assert fetch.calls == [[1, 2], [3]]


async def test_a_failed_fetch_fails_every_caller_and_is_not_kept() -> None:
    fetch = Squares(fail=True)
    loader = BatchLoader(fetch)

    outcomes = await asyncio.gather(
        loader.load(1), loader.load_many([1, 2]), return_exceptions=True
    )

    assert [type(outcome) for outcome in outcomes] == [LookupError, LookupError]
    fetch.fail = False
    assert await loader.load_many([1, 2]) == [1, 4]
    assert fetch.calls == [[1, 2], [1, 2]]


async def test_a_cancelled_caller_leaves_the_batch_to_the_others() -> None:
    fetch = Squares()
    fetch.release.clear()
    loader = BatchLoader(fetch)
    leaving = asyncio.ensure_future(loader.load_many([1, 2]))
    staying = asyncio.ensure_future(loader.load_many([2]))
    await asyncio.sleep(0.01)

    leaving.cancel()
    await asyncio.sleep(0.01)
    fetch.release.set()

    assert await staying == [4]
    assert leaving.cancelled()
    assert fetch.calls == [[1, 2]]


async def test_a_batch_function_answering_the_wrong_number_of_values_is_an_error() -> None:
    loader = BatchLoader(Squares(answers=1))

    with pytest.raises(WrongNumberOfValues, match="asked 2 keys, answered 1"):
        await loader.load_many([1, 2])


async def test_a_primed_key_is_answered_without_a_fetch_and_never_overwrites() -> None:
    fetch = Squares()
    loader = BatchLoader(fetch)
    assert await loader.load(2) == 4

    loader.prime(3, 0)  # read along with something else
    loader.prime(2, 0)  # already known: the first answer stays

    assert await loader.load_many([3, 2, 5]) == [0, 4, 25]
    assert fetch.calls == [[2], [5]]
