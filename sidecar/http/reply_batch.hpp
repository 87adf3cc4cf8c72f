// reply_batch.hpp — one wake-up per I/O thread for many replies given together.
//
// A reply given on a non-I/O thread (the database thread answering a group commit) is posted to
// the connection's I/O thread, which wakes that thread. While a ReplyBatch lives on the giving
// thread, such posts are held instead and, when the outermost batch ends, each I/O thread gets
// all of its replies in one post:
//
//   { http::ReplyBatch batch; for (auto &item : items) item.reply(...); } // one post per thread
//
// Batches nest; replies given on other threads are not affected. The server (server.cpp) posts
// through PostReply; anything else may use it the same way.
#pragma once

#include <functional>

namespace event::sidecar::http {

class ReplyBatch {
public:
	ReplyBatch();
	~ReplyBatch(); // posts the held tasks, one post per target
	ReplyBatch(const ReplyBatch &) = delete;
	ReplyBatch &operator=(const ReplyBatch &) = delete;
};

// Posts task to the thread behind target with post(target, task): at once when no ReplyBatch is
// open on this thread, else when it closes, together with the other tasks held for target (one
// post whose task runs them in order). post must not call back into PostReply.
using PostFunction = void (*)(void *target, std::function<void()> task);
void PostReply(void *target, PostFunction post, std::function<void()> task);

} // namespace event::sidecar::http
