// merge_tree.cpp — the merge reducer's in-memory state (merge_tree.hpp).
//
// An object is an array of members sorted in jsonb's key order (shorter keys first, then
// bytewise; lengthCompareJsonbStringValue), found by binary search. A member's value is either a
// nested MergeObject or a JsonbValue: a scalar, or an array as a jbvBinary container. Replaced
// and removed values are not freed one by one: the fold serialises the tree into a fresh context
// now and then (projections.cpp), which drops them all.
#include "pg/compat.hpp"

#include "pg/jsonb_builder.hpp"
#include "pg/merge_tree.hpp"

namespace event::pg {

struct MergeMember {
	JsonbValue key;       // jbvString
	JsonbValue value;     // a scalar or an array (jbvBinary); unused when object is set
	MergeObject *object;  // a nested object, or nullptr
};

struct MergeObject {
	MergeMember *members;
	int n;
	int capacity;
};

namespace {

constexpr int kMinCapacity = 4;

MergeObject *NewObject(int capacity) {
	auto *object = static_cast<MergeObject *>(palloc(sizeof(MergeObject)));
	object->capacity = std::max(capacity, kMinCapacity);
	object->members = static_cast<MergeMember *>(palloc(sizeof(MergeMember) * object->capacity));
	object->n = 0;
	return object;
}

bool IsObjectContainer(const JsonbValue &v) {
	return v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data);
}

// Loads the members of an object container (its keys come in jsonb order already).
MergeObject *LoadObject(JsonbContainer *container) {
	check_stack_depth();
	MergeObject *object = NewObject(static_cast<int>(JsonContainerSize(container)) + kMinCapacity);
	JsonbIterator *it = JsonbIteratorInit(container);
	JsonbValue k, v;
	(void)JsonbIteratorNext(&it, &v, true); // WJB_BEGIN_OBJECT
	while (JsonbIteratorNext(&it, &k, true) == WJB_KEY) {
		(void)JsonbIteratorNext(&it, &v, true);
		MergeMember &m = object->members[object->n++];
		m.key = k;
		m.value = v;
		m.object = IsObjectContainer(v) ? LoadObject(v.val.binary.data) : nullptr;
	}
	return object;
}

// Index of key in object, or -(insertion point) - 1.
int Find(const MergeObject *object, const JsonbValue &key) {
	int low = 0, high = object->n - 1;
	const int len = key.val.string.len;
	while (low <= high) {
		int mid = (low + high) / 2;
		const JsonbValue &k = object->members[mid].key;
		int c = k.val.string.len != len ? (k.val.string.len < len ? -1 : 1)
		                                : memcmp(k.val.string.val, key.val.string.val, len);
		if (c == 0)
			return mid;
		if (c < 0)
			low = mid + 1;
		else
			high = mid - 1;
	}
	return -low - 1;
}

// The member for key at insertion point at (from Find), made room for.
MergeMember *Insert(MergeObject *object, int at, const JsonbValue &key) {
	if (object->n == object->capacity) {
		object->capacity *= 2;
		object->members =
			static_cast<MergeMember *>(repalloc(object->members, sizeof(MergeMember) * object->capacity));
	}
	memmove(&object->members[at + 1], &object->members[at], sizeof(MergeMember) * (object->n - at));
	object->n++;
	MergeMember *m = &object->members[at];
	m->key = key;
	m->object = nullptr;
	return m;
}

void Remove(MergeObject *object, int at) {
	memmove(&object->members[at], &object->members[at + 1], sizeof(MergeMember) * (object->n - at - 1));
	object->n--;
}

void Apply(MergeObject *target, JsonbContainer *patch) {
	check_stack_depth();
	JsonbIterator *it = JsonbIteratorInit(patch);
	JsonbValue k, v;
	(void)JsonbIteratorNext(&it, &v, true); // WJB_BEGIN_OBJECT
	while (JsonbIteratorNext(&it, &k, true) == WJB_KEY) {
		(void)JsonbIteratorNext(&it, &v, true);
		int at = Find(target, k);
		if (v.type == jbvNull) {
			if (at >= 0)
				Remove(target, at);
			continue;
		}
		MergeMember *m = at >= 0 ? &target->members[at] : Insert(target, -at - 1, k);
		if (IsObjectContainer(v)) {
			if (m->object == nullptr)
				m->object = NewObject(static_cast<int>(JsonContainerSize(v.val.binary.data)));
			Apply(m->object, v.val.binary.data);
		} else {
			m->value = v;
			m->object = nullptr;
		}
	}
}

void Push(JsonbBuilder &b, const MergeObject *object) {
	check_stack_depth();
	b.BeginObject();
	for (int i = 0; i < object->n; i++) {
		const MergeMember &m = object->members[i];
		b.Key(m.key.val.string.val, m.key.val.string.len);
		if (m.object != nullptr)
			Push(b, m.object);
		else
			b.Value(m.value);
	}
	b.EndObject();
}

} // namespace

MergeObject *MergeTreeLoad(Jsonb *state) {
	return JB_ROOT_IS_OBJECT(state) ? LoadObject(&state->root) : NewObject(0);
}

void MergeTreeApply(MergeObject *tree, JsonbContainer *patch) {
	if (JsonContainerIsObject(patch))
		Apply(tree, patch);
}

Jsonb *MergeTreeToJsonb(const MergeObject *tree) {
	JsonbBuilder b;
	Push(b, tree);
	return b.Finish();
}

} // namespace event::pg
