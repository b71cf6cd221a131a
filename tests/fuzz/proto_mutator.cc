#include "tests/fuzz/proto_mutator.h"

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/reflection.h"

extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);

namespace taskhub::fuzz {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// One place a mutation can happen: a field of a message (all of its elements when
// repeated, or one element `index`).
struct Slot {
  Message* msg;
  const FieldDescriptor* field;
  int index;  // -1: the field itself (set/clear, add/drop/swap)
};

void Collect(Message* msg, std::vector<Slot>* slots, std::vector<std::string>* strings,
             int depth) {
  const auto* d = msg->GetDescriptor();
  const Reflection* r = msg->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    slots->push_back({msg, f, -1});
    const bool is_msg = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
    const bool is_str = f->cpp_type() == FieldDescriptor::CPPTYPE_STRING;
    if (f->is_repeated()) {
      const int n = r->FieldSize(*msg, f);
      for (int k = 0; k < n; ++k) {
        if (is_msg && depth < 12) {
          Collect(r->MutableRepeatedMessage(msg, f, k), slots, strings, depth + 1);
        } else if (!is_msg) {
          slots->push_back({msg, f, k});
          if (is_str) strings->push_back(r->GetRepeatedString(*msg, f, k));
        }
      }
    } else if (is_msg) {
      if (r->HasField(*msg, f) && depth < 12) {
        Collect(r->MutableMessage(msg, f), slots, strings, depth + 1);
      }
    } else if (is_str) {
      strings->push_back(r->GetString(*msg, f));
    }
  }
}

int64_t MutateInt(int64_t v, std::mt19937& rng) {
  switch (rng() % 6) {
    // Wrapping arithmetic: v may be INT64_MAX/MIN (signed overflow is undefined).
    case 0: return static_cast<int64_t>(static_cast<uint64_t>(v) + 1);
    case 1: return static_cast<int64_t>(static_cast<uint64_t>(v) - 1);
    case 2: return static_cast<int64_t>(rng() % 8);
    case 3: return -static_cast<int64_t>(rng() % 3);
    case 4: return v ^ (int64_t{1} << (rng() % 63));
    default: {
      const int64_t edges[] = {0, 1, -1, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, 1'700'000'000};
      return edges[rng() % 8];
    }
  }
}

// Changes one value of a scalar or string slot.
void MutateValue(const Slot& s, const std::vector<std::string>& strings, std::mt19937& rng) {
  Message* m = s.msg;
  const Reflection* r = m->GetReflection();
  const FieldDescriptor* f = s.field;
  const bool rep = s.index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v = rep ? r->GetRepeatedString(*m, f, s.index) : r->GetString(*m, f);
      if (!strings.empty() && rng() % 3 == 0) {
        v = strings[rng() % strings.size()];  // line ids up across requests
      } else {
        // Mutate a copy with room to grow.
        std::string buf = v;
        const size_t max = v.size() + 1 + rng() % 32;
        buf.resize(max);
        const size_t n = LLVMFuzzerMutate(reinterpret_cast<uint8_t*>(buf.data()), v.size(), max);
        buf.resize(n);
        v = buf;
      }
      rep ? r->SetRepeatedString(m, f, s.index, v) : r->SetString(m, f, v);
      return;
    }
#define TASKHUB_INT_CASE(CPP, Get, Set, GetRep, SetRep, T)                                 \
  case FieldDescriptor::CPP: {                                                            \
    const T v = rep ? r->GetRep(*m, f, s.index) : r->Get(*m, f);                         \
    const T nv = static_cast<T>(MutateInt(static_cast<int64_t>(v), rng));                \
    rep ? r->SetRep(m, f, s.index, nv) : r->Set(m, f, nv);                               \
    return;                                                                               \
  }
      TASKHUB_INT_CASE(CPPTYPE_INT32, GetInt32, SetInt32, GetRepeatedInt32, SetRepeatedInt32,
                       int32_t)
      TASKHUB_INT_CASE(CPPTYPE_INT64, GetInt64, SetInt64, GetRepeatedInt64, SetRepeatedInt64,
                       int64_t)
      TASKHUB_INT_CASE(CPPTYPE_UINT32, GetUInt32, SetUInt32, GetRepeatedUInt32,
                       SetRepeatedUInt32, uint32_t)
      TASKHUB_INT_CASE(CPPTYPE_UINT64, GetUInt64, SetUInt64, GetRepeatedUInt64,
                       SetRepeatedUInt64, uint64_t)
#undef TASKHUB_INT_CASE
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int v = static_cast<int>(MutateInt(rep ? r->GetRepeatedEnumValue(*m, f, s.index)
                                                   : r->GetEnumValue(*m, f),
                                               rng));
      rep ? r->SetRepeatedEnumValue(m, f, s.index, v) : r->SetEnumValue(m, f, v);
      return;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      const bool v = rep ? r->GetRepeatedBool(*m, f, s.index) : r->GetBool(*m, f);
      rep ? r->SetRepeatedBool(m, f, s.index, !v) : r->SetBool(m, f, !v);
      return;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE:
    case FieldDescriptor::CPPTYPE_FLOAT:
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return;
  }
}

// Adds, copies, drops or swaps elements of a repeated field.
void MutateRepeated(const Slot& s, std::mt19937& rng) {
  Message* m = s.msg;
  const Reflection* r = m->GetReflection();
  const FieldDescriptor* f = s.field;
  const int n = r->FieldSize(*m, f);
  const bool is_msg = f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE;
  switch (n == 0 ? 0 : rng() % 4) {
    case 0:  // a new element (default message, or a copy of the first scalar)
      if (is_msg) {
        r->AddMessage(m, f);
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        r->AddString(m, f, "");
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_ENUM) {
        r->AddEnumValue(m, f, static_cast<int>(rng() % 8));
      } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
        r->AddInt32(m, f, 0);
      }
      return;
    case 1:  // duplicate an element at the end
      if (is_msg) {
        std::unique_ptr<Message> copy(r->GetRepeatedMessage(*m, f, rng() % n).New());
        copy->CopyFrom(r->GetRepeatedMessage(*m, f, rng() % n));
        r->AddMessage(m, f)->CopyFrom(*copy);
      } else {
        r->SwapElements(m, f, rng() % n, n - 1);
      }
      return;
    case 2:  // drop one
      r->SwapElements(m, f, rng() % n, n - 1);
      r->RemoveLast(m, f);
      return;
    default:
      r->SwapElements(m, f, rng() % n, rng() % n);
      return;
  }
}

}  // namespace

size_t MutateProto(const Message& prototype, uint8_t* data, size_t size, size_t max_size,
                   unsigned seed) {
  std::mt19937 rng(seed);
  std::unique_ptr<Message> msg(prototype.New());
  if (rng() % 4 == 0 || !msg->ParseFromArray(data, static_cast<int>(size))) {
    return LLVMFuzzerMutate(data, size, max_size);
  }
  for (int tries = 0; tries < 4; ++tries) {
    std::vector<Slot> slots;
    std::vector<std::string> strings;
    Collect(msg.get(), &slots, &strings, 0);
    if (slots.empty()) break;
    const Slot& s = slots[rng() % slots.size()];
    const Reflection* r = s.msg->GetReflection();
    if (s.index >= 0) {
      MutateValue(s, strings, rng);
    } else if (s.field->is_repeated()) {
      MutateRepeated(s, rng);
    } else if (s.field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (r->HasField(*s.msg, s.field) && rng() % 3 == 0) {
        r->ClearField(s.msg, s.field);
      } else {
        r->MutableMessage(s.msg, s.field);  // set (oneof: switches the case)
      }
    } else {
      MutateValue(s, strings, rng);
    }
    std::string out;
    if (msg->SerializeToString(&out) && out.size() <= max_size) {
      memcpy(data, out.data(), out.size());
      return out.size();
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

}  // namespace taskhub::fuzz
