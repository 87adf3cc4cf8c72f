// reply_batch.cpp — replies held per target while a ReplyBatch is open (see reply_batch.hpp).
#include "http/reply_batch.hpp"

#include <utility>
#include <vector>

namespace event::sidecar::http {

namespace {

struct Held {
	void *target;
	PostFunction post;
	std::vector<std::function<void()>> tasks;
};

struct Batches {
	int depth = 0;
	std::vector<Held> held; // few targets (the I/O threads): a linear search is enough
};

thread_local Batches batches;

} // namespace

ReplyBatch::ReplyBatch() { batches.depth++; }

ReplyBatch::~ReplyBatch() {
	if (--batches.depth > 0)
		return;
	std::vector<Held> held = std::move(batches.held);
	batches.held.clear();
	for (Held &h : held) {
		if (h.tasks.size() == 1) {
			h.post(h.target, std::move(h.tasks.front()));
			continue;
		}
		h.post(h.target, [tasks = std::move(h.tasks)]() {
			for (const auto &task : tasks)
				task();
		});
	}
}

void PostReply(void *target, PostFunction post, std::function<void()> task) {
	if (batches.depth == 0)
		return post(target, std::move(task));
	for (Held &h : batches.held)
		if (h.target == target && h.post == post)
			return h.tasks.push_back(std::move(task));
	batches.held.push_back(Held{target, post, {}});
	batches.held.back().tasks.push_back(std::move(task));
}

} // namespace event::sidecar::http
