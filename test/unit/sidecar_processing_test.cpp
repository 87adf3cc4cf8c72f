// sidecar_processing_test.cpp — the claimed calls of webhook and nats processors
// (sidecar/processing/tasks.hpp): parsing a claim result, malformed results refused, grouping by
// event in claim order, the results array for event.complete_processing_tasks.
#include <gtest/gtest.h>

#include "processing/tasks.hpp"

using namespace event::sidecar::processing;

namespace {

const char kClaim[] =
	R"([{"task_id": "t1", "claim": 2, "event_id": "e1", "attempt": 1, "replay_id": null, "processor_id": "p1",
	     "processor_name": "hook", "processor_type": "webhook", "config": {"url": "http://h/x", "secret": "whsec_abc"},
	     "message_id": "p1:e1", "event": {"event_id": "e1", "data": {"a": [1, "x"]}}},
	    {"task_id": "t2", "claim": 1, "event_id": "e2", "processor_name": "bus", "processor_type": "nats",
	     "config": {"subject": "a.b"}, "message_id": "p2:e2", "event": {"event_id": "e2"}},
	    {"task_id": "t3", "claim": 1, "event_id": "e1", "processor_name": "bus", "processor_type": "nats",
	     "config": {"subject": "a.b"}, "message_id": "p2:e1", "event": {"event_id": "e1"}}])";

} // namespace

TEST(ProcessingTasks, ParsesAClaim) {
	std::vector<Task> tasks;
	std::string error;
	ASSERT_TRUE(ParseTasks(kClaim, &tasks, &error)) << error;
	ASSERT_EQ(tasks.size(), 3u);
	EXPECT_EQ(tasks[0].task_id, "t1");
	EXPECT_EQ(tasks[0].claim, 2);
	EXPECT_EQ(tasks[0].processor_type, "webhook");
	EXPECT_EQ(tasks[0].url, "http://h/x");
	EXPECT_EQ(tasks[0].secret, "whsec_abc");
	EXPECT_EQ(tasks[0].message_id, "p1:e1");
	EXPECT_EQ(tasks[0].body, R"({"event_id":"e1","data":{"a":[1,"x"]}})");
	EXPECT_EQ(tasks[1].subject, "a.b");
	EXPECT_EQ(tasks[1].url, "");
}

TEST(ProcessingTasks, RefusesMalformedClaims) {
	std::vector<Task> tasks;
	std::string error;
	for (const char *bad : {"", "{}", "[1]", R"([{"claim": 1, "config": {}}])", R"([{"claim": "1", "config": {},
	                         "event": {}}])", R"([{"claim": 1, "config": [], "event": {}}])", "[{"}) {
		error.clear();
		EXPECT_FALSE(ParseTasks(bad, &tasks, &error)) << bad;
		EXPECT_FALSE(error.empty()) << bad;
	}
	EXPECT_TRUE(ParseTasks("[]", &tasks, &error));
	EXPECT_TRUE(tasks.empty());
}

TEST(ProcessingTasks, GroupsByEventInClaimOrder) {
	std::vector<Task> tasks;
	std::string error;
	ASSERT_TRUE(ParseTasks(kClaim, &tasks, &error));
	std::vector<std::vector<size_t>> groups = GroupByEvent(tasks);
	ASSERT_EQ(groups.size(), 2u);
	EXPECT_EQ(groups[0], (std::vector<size_t>{0, 2}));
	EXPECT_EQ(groups[1], (std::vector<size_t>{1}));
}

TEST(ProcessingTasks, ResultsJson) {
	std::vector<Task> tasks(2);
	tasks[0].task_id = "t1";
	tasks[0].claim = 3;
	tasks[1].task_id = "t2";
	tasks[1].claim = 1;
	std::vector<Outcome> outcomes(2);
	outcomes[0].ok = true;
	outcomes[0].duration_ms = 1.5;
	outcomes[1].error = "HTTP \"500\"";
	EXPECT_EQ(ResultsJson(tasks, outcomes),
	          R"([{"task_id":"t1","claim":3,"ok":true,"duration_ms":1.500000},)"
	          R"({"task_id":"t2","claim":1,"ok":false,"duration_ms":0.000000,"error":"HTTP \"500\""}])");
	EXPECT_EQ(ResultsJson({}, {}), "[]");
}
