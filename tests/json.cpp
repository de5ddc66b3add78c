// sse::json_poll_decoder: the example server's poll answers, and what it refuses.
#include <sse/json.hpp>

#include <doctest/doctest.h>

TEST_CASE("json_poll_decoder: events, ids, types, data and the next id")
{
    auto const decode = sse::json_poll_decoder();
    sse::poll_batch batch;
    std::string why;
    REQUIRE(decode(R"({"events":[{"id":"a-1","event":"notification","data":"{\"x\":1}"},
                                 {"id":"a-2","data":{"y":[1,2]}},
                                 {"id":"a-3","type":"update"}],
                      "lastEventId":"a-3","reset":false})",
                   batch, why));
    REQUIRE(batch.events.size() == 3);
    CHECK(batch.events[0].id == std::optional<std::string>("a-1"));
    CHECK(batch.events[0].type == "notification");
    CHECK(batch.events[0].data == std::optional<std::string>(R"({"x":1})"));
    CHECK(batch.events[1].type.empty());   // "message"
    CHECK(batch.events[1].data == std::optional<std::string>(R"({"y":[1,2]})"));
    CHECK(batch.events[2].type == "update");
    CHECK(batch.events[2].data == std::optional<std::string>(""));
    CHECK(batch.last_event_id == std::optional<std::string>("a-3"));
}

TEST_CASE("json_poll_decoder: a reset comes first, as the stream would send it")
{
    sse::poll_batch batch;
    std::string why;
    REQUIRE(sse::json_poll_decoder()(R"({"events":[],"lastEventId":"b-0","reset":true,"reason":"event_id_too_old"})",
                                     batch, why));
    REQUIRE(batch.events.size() == 1);
    CHECK(batch.events[0].type == "reset");
    CHECK(batch.events[0].data == std::optional<std::string>(R"({"reason":"event_id_too_old"})"));
    CHECK_FALSE(batch.events[0].id);
}

TEST_CASE("json_poll_decoder: answers it refuses, with a reason")
{
    for (char const* body : {"", "not json", "[1,2]", R"({"events":7})", R"({"events":[3]})", R"({"lastEventId":"x"})"}) {
        CAPTURE(body);
        sse::poll_batch batch;
        std::string why;
        CHECK_FALSE(sse::json_poll_decoder()(body, batch, why));
        CHECK_FALSE(why.empty());
    }
}
