// tasks.cpp — see tasks.hpp.
#include "processing/tasks.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>

#include "core/json.hpp"

namespace event::sidecar::processing {

namespace {

std::string Str(const rapidjson::Value &o, const char *name) {
	auto it = o.FindMember(name);
	return it != o.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
	                                                   : std::string();
}

} // namespace

bool ParseTasks(const std::string &json, std::vector<Task> *tasks, std::string *error) {
	rapidjson::Document doc;
	doc.Parse(json.c_str(), json.size());
	if (doc.HasParseError() || !doc.IsArray()) {
		*error = "the claim result is not a JSON array";
		return false;
	}
	tasks->clear();
	for (const auto &v : doc.GetArray()) {
		if (!v.IsObject() || !v.HasMember("claim") || !v["claim"].IsInt() || !v.HasMember("event") ||
		    !v["event"].IsObject() || !v.HasMember("config") || !v["config"].IsObject()) {
			*error = "a claimed task lacks claim, event or config";
			return false;
		}
		Task t;
		t.task_id = Str(v, "task_id");
		t.claim = v["claim"].GetInt();
		t.event_id = Str(v, "event_id");
		t.processor_name = Str(v, "processor_name");
		t.processor_type = Str(v, "processor_type");
		t.message_id = Str(v, "message_id");
		const rapidjson::Value &config = v["config"];
		t.url = Str(config, "url");
		t.secret = Str(config, "secret");
		t.subject = Str(config, "subject");
		rapidjson::StringBuffer buf;
		rapidjson::Writer<rapidjson::StringBuffer> writer(buf);
		v["event"].Accept(writer);
		t.body.assign(buf.GetString(), buf.GetSize());
		tasks->push_back(std::move(t));
	}
	return true;
}

std::string ResultsJson(const std::vector<Task> &tasks, const std::vector<Outcome> &outcomes) {
	std::string out = "[";
	for (size_t i = 0; i < tasks.size() && i < outcomes.size(); i++) {
		const Outcome &o = outcomes[i];
		out += (i ? ",{" : "{") + std::string("\"task_id\":") + core::JsonQuote(tasks[i].task_id) +
		       ",\"claim\":" + std::to_string(tasks[i].claim) + ",\"ok\":" + (o.ok ? "true" : "false") +
		       ",\"duration_ms\":" + std::to_string(o.duration_ms) +
		       (o.ok ? std::string() : ",\"error\":" + core::JsonQuote(o.error)) + "}";
	}
	return out + "]";
}

std::vector<std::vector<size_t>> GroupByEvent(const std::vector<Task> &tasks) {
	std::vector<std::vector<size_t>> groups;
	std::map<std::string, size_t> index;
	for (size_t i = 0; i < tasks.size(); i++) {
		auto [it, added] = index.emplace(tasks[i].event_id, groups.size());
		if (added)
			groups.emplace_back();
		groups[it->second].push_back(i);
	}
	return groups;
}

} // namespace event::sidecar::processing
