// A structure-aware mutator for the targets whose input is a protobuf message (a
// small stand-in for libprotobuf-mutator, which Debian does not package). Byte-level
// mutations of serialized messages mostly break length prefixes; this one parses the
// input, changes one field through reflection (set or clear a message, add, copy,
// drop or swap repeated elements, change a number, mutate a string's bytes or copy
// another string of the input, so ids line up across requests) and serializes it
// again. Inputs that do not parse, and a share of the rest, get libFuzzer's own
// byte mutations.
#ifndef TASKHUB_TESTS_FUZZ_PROTO_MUTATOR_H_
#define TASKHUB_TESTS_FUZZ_PROTO_MUTATOR_H_

#include <cstddef>
#include <cstdint>

#include "google/protobuf/message.h"

namespace taskhub::fuzz {

// Mutates the serialized `prototype`-typed message in data[0, size) in place; returns
// the new size (<= max_size). For LLVMFuzzerCustomMutator.
size_t MutateProto(const google::protobuf::Message& prototype, uint8_t* data, size_t size,
                   size_t max_size, unsigned seed);

}  // namespace taskhub::fuzz

// Defines LLVMFuzzerCustomMutator for a target whose input is a `Msg`.
#define TASKHUB_FUZZ_PROTO_MUTATOR(Msg)                                                   \
  extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size, \
                                            unsigned seed) {                             \
    static const Msg* prototype = new Msg();                                              \
    return taskhub::fuzz::MutateProto(*prototype, data, size, max_size, seed);           \
  }

#endif  // TASKHUB_TESTS_FUZZ_PROTO_MUTATOR_H_
