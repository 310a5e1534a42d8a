from tests.helpers.transcript import Transcript


async def test_ping_answers_pong(chat: Transcript) -> None:
    assert await chat.say("anyone", "ping") == "pong"
