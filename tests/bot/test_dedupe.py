from bot.dedupe import RecentDeliveries


def test_a_delivery_acts_once_and_the_oldest_are_forgotten() -> None:
    seen = RecentDeliveries(capacity=3)
    assert [seen.first_time(d) for d in ("a", "b", "a", "c", "d")] == [True, True, False, True, True]
    assert seen.first_time("a") is True  # forgotten after three newer ones
    assert seen.first_time("d") is False
