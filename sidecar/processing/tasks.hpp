// tasks.hpp — the claimed calls of webhook and nats processors as the sidecar sees them: parsing
// event.claim_processing_tasks' result, grouping by event, and the results array of
// event.complete_processing_tasks (docs/sql-api.md "Webhook and nats processors"). Pure C++ (unit
// tests: test/unit/sidecar_processing_test.cpp); the calls themselves are in outbound.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace event::sidecar::processing {

// One claimed call (an element of event.claim_processing_tasks' result).
struct Task {
	std::string task_id;
	int claim = 0;
	std::string event_id;
	std::string processor_name;
	std::string processor_type; // webhook or nats
	std::string url, secret;    // webhook
	std::string subject;        // nats
	std::string message_id;
	std::string body; // the event's EventResponse JSON
};

// The outcome of one call, as event.complete_processing_tasks takes it.
struct Outcome {
	bool ok = false;
	double duration_ms = 0;
	std::string error;
};

// Parses a claim result (JSON array); false with *error on a malformed one.
bool ParseTasks(const std::string &json, std::vector<Task> *tasks, std::string *error);
// The results array of complete_processing_tasks for tasks[i] -> outcomes[i].
std::string ResultsJson(const std::vector<Task> &tasks, const std::vector<Outcome> &outcomes);
// Groups of task indexes: the tasks of one event, in claim order; events in order of first task.
std::vector<std::vector<size_t>> GroupByEvent(const std::vector<Task> &tasks);

} // namespace event::sidecar::processing
