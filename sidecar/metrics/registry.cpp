// registry.cpp — metric families and the Prometheus text exposition (see registry.hpp).
#include "metrics/registry.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace event::sidecar::metrics {

const std::vector<double> &DefaultLatencyBounds() {
	static const std::vector<double> kBounds = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
												0.1,    0.25,  0.5,   1,     2.5,  5,     10};
	return kBounds;
}

std::string EscapeLabel(std::string_view value) {
	std::string out;
	out.reserve(value.size());
	for (char c : value) {
		if (c == '\\' || c == '"')
			out += '\\';
		if (c == '\n') {
			out += "\\n";
			continue;
		}
		out += c;
	}
	return out;
}

std::string FormatLabels(const std::vector<std::string> &names, const Labels &values) {
	if (names.empty())
		return "";
	std::string out = "{";
	for (size_t i = 0; i < names.size(); ++i) {
		if (i > 0)
			out += ',';
		out += names[i];
		out += "=\"";
		out += EscapeLabel(i < values.size() ? values[i] : std::string());
		out += '"';
	}
	out += '}';
	return out;
}

std::string FormatValue(double v) {
	if (std::isinf(v))
		return v > 0 ? "+Inf" : "-Inf";
	if (std::isnan(v))
		return "NaN";
	if (v == std::floor(v) && std::fabs(v) < 1e15)
		return std::to_string(static_cast<long long>(v));
	char buf[64];
	std::snprintf(buf, sizeof buf, "%.9g", v);
	return buf;
}

Histogram::Histogram(const std::vector<double> *bounds)
	: bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
	for (size_t i = 0; i <= bounds_->size(); ++i)
		buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) noexcept {
	if (!(value >= 0))
		value = 0;
	size_t i = 0;
	while (i < bounds_->size() && value > (*bounds_)[i])
		++i;
	buckets_[i].fetch_add(1, std::memory_order_relaxed);
	sum_nanos_.fetch_add(static_cast<uint64_t>(value * 1e9), std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::Buckets() const {
	std::vector<uint64_t> out(bounds_->size() + 1);
	for (size_t i = 0; i < out.size(); ++i)
		out[i] = buckets_[i].load(std::memory_order_relaxed);
	return out;
}

double Histogram::Sum() const noexcept { return static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9; }

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds)
	: name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

namespace {

template <typename T>
std::unique_ptr<T> MakeChild(const std::vector<double> *) {
	return std::make_unique<T>();
}

template <>
std::unique_ptr<Histogram> MakeChild<Histogram>(const std::vector<double> *bounds) {
	return std::make_unique<Histogram>(bounds);
}

void RenderSample(std::string *out, const std::string &name, const std::string &labels, const std::string &value) {
	*out += name;
	*out += labels;
	*out += ' ';
	*out += value;
	*out += '\n';
}

void RenderChild(std::string *out, const std::string &name, const std::vector<std::string> &names,
				 const Labels &values, const Counter &c, const std::vector<double> &) {
	RenderSample(out, name, FormatLabels(names, values), std::to_string(c.Value()));
}

void RenderChild(std::string *out, const std::string &name, const std::vector<std::string> &names,
				 const Labels &values, const Gauge &g, const std::vector<double> &) {
	RenderSample(out, name, FormatLabels(names, values), std::to_string(g.Value()));
}

void RenderChild(std::string *out, const std::string &name, const std::vector<std::string> &names,
				 const Labels &values, const Histogram &h, const std::vector<double> &bounds) {
	std::vector<uint64_t> counts = h.Buckets();
	std::vector<std::string> le_names = names;
	le_names.push_back("le");
	Labels le_values = values;
	le_values.push_back("");
	uint64_t cumulative = 0;
	for (size_t i = 0; i < counts.size(); ++i) {
		cumulative += counts[i];
		le_values.back() = i < bounds.size() ? FormatValue(bounds[i]) : "+Inf";
		RenderSample(out, name + "_bucket", FormatLabels(le_names, le_values), std::to_string(cumulative));
	}
	RenderSample(out, name + "_sum", FormatLabels(names, values), FormatValue(h.Sum()));
	RenderSample(out, name + "_count", FormatLabels(names, values), std::to_string(cumulative));
}

} // namespace

template <typename T>
T &Family<T>::With(const Labels &values) {
	if (values.size() != label_names_.size())
		throw std::logic_error("metric " + name_ + ": expected " + std::to_string(label_names_.size()) +
							   " label values, got " + std::to_string(values.size()));
	std::lock_guard<std::mutex> lock(mu_);
	auto &child = children_[values];
	if (!child)
		child = MakeChild<T>(&bounds_);
	return *child;
}

template <typename T>
void Family<T>::Render(std::string *out, const char *type) const {
	*out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " " + type + "\n";
	std::lock_guard<std::mutex> lock(mu_);
	for (const auto &[values, child] : children_)
		RenderChild(out, name_, label_names_, values, *child, bounds_);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

struct Registry::Entry {
	std::string name, type, help;
	std::unique_ptr<CounterFamily> counter;
	std::unique_ptr<GaugeFamily> gauge;
	std::unique_ptr<HistogramFamily> histogram;
	std::function<std::string()> callback;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry *Registry::Find(std::string_view name, std::string_view type) {
	for (auto &e : entries_) {
		if (e->name != name)
			continue;
		if (e->type != type)
			throw std::logic_error("metric " + std::string(name) + " registered as " + e->type + " and " +
								   std::string(type));
		return e.get();
	}
	return nullptr;
}

namespace {

void CheckLabels(const std::string &name, const std::vector<std::string> &have, const std::vector<std::string> &want) {
	if (have != want)
		throw std::logic_error("metric " + name + " registered twice with different labels");
}

} // namespace

template <typename F>
F &Registry::GetOrAdd(std::unique_ptr<F> Entry::*member, std::string_view name, const char *type,
					  std::string_view help, std::vector<std::string> label_names, std::vector<double> bounds) {
	std::lock_guard<std::mutex> lock(mu_);
	if (Entry *e = Find(name, type)) {
		CheckLabels(e->name, (e->*member)->label_names(), label_names);
		return *(e->*member);
	}
	auto e = std::make_unique<Entry>();
	e->name = std::string(name);
	e->type = type;
	(*e).*member = std::make_unique<F>(e->name, std::string(help), std::move(label_names), std::move(bounds));
	entries_.push_back(std::move(e));
	return *(entries_.back().get()->*member);
}

CounterFamily &Registry::Counter(std::string_view name, std::string_view help, std::vector<std::string> label_names) {
	return GetOrAdd(&Entry::counter, name, "counter", help, std::move(label_names), {});
}

GaugeFamily &Registry::Gauge(std::string_view name, std::string_view help, std::vector<std::string> label_names) {
	return GetOrAdd(&Entry::gauge, name, "gauge", help, std::move(label_names), {});
}

HistogramFamily &Registry::Histogram(std::string_view name, std::string_view help,
									 std::vector<std::string> label_names, std::vector<double> bounds) {
	return GetOrAdd(&Entry::histogram, name, "histogram", help, std::move(label_names), std::move(bounds));
}

void Registry::Callback(std::string_view name, std::string_view type, std::string_view help,
						std::function<std::string()> render) {
	std::lock_guard<std::mutex> lock(mu_);
	for (auto &e : entries_)
		if (e->name == name)
			throw std::logic_error("metric " + std::string(name) + " registered twice");
	auto e = std::make_unique<Entry>();
	e->name = std::string(name);
	e->type = std::string(type);
	e->help = std::string(help);
	e->callback = std::move(render);
	entries_.push_back(std::move(e));
}

std::string Registry::Render() const {
	std::string out;
	out.reserve(8192);
	std::lock_guard<std::mutex> lock(mu_);
	for (const auto &e : entries_) {
		if (e->counter)
			e->counter->Render(&out, "counter");
		else if (e->gauge)
			e->gauge->Render(&out, "gauge");
		else if (e->histogram)
			e->histogram->Render(&out, "histogram");
		else if (e->callback) {
			out += "# HELP " + e->name + " " + e->help + "\n# TYPE " + e->name + " " + e->type + "\n";
			out += e->callback();
		}
	}
	return out;
}

Registry &Default() {
	static Registry *registry = new Registry(); // never destroyed: metrics may be touched at exit
	return *registry;
}

} // namespace event::sidecar::metrics
