// Text helpers for the built-in pages: HTML escaping and a small JSON
// writer that puts the commas in, so a page's JSON is built field by field
// and every string goes through JsonQuote.
//
//   JsonWriter json;
//   json.BeginObject();
//   json.FieldString("address", view->address());
//   json.FieldUint("calls", 42);
//   json.EndObject();
//   reply->body = json.Take();  // {"address":"...","calls":42}
//
// Internal to the server. Plain values, any thread.
#ifndef MRPC_RPC_HTTP_PAGES_TEXT_H_
#define MRPC_RPC_HTTP_PAGES_TEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace mrpc {

// `text` with & < > " ' replaced by entities: safe in element content and
// in quoted attribute values.
std::string HtmlEscape(absl::string_view text);

class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // The next value is this key's (inside an object).
  void Key(absl::string_view key);

  void String(absl::string_view value);
  void Uint(uint64_t value);
  void Int(int64_t value);
  // Not finite (NaN, infinity) is written as 0: JSON has no such numbers.
  void Double(double value);
  void Bool(bool value);

  // Key(key) and the value. Named per type: a string literal would
  // otherwise convert to bool before string_view.
  void FieldString(absl::string_view key, absl::string_view value);
  void FieldUint(absl::string_view key, uint64_t value);
  void FieldInt(absl::string_view key, int64_t value);
  void FieldDouble(absl::string_view key, double value);
  void FieldBool(absl::string_view key, bool value);

  // The document so far; the writer starts over.
  std::string Take();

 private:
  // A comma before every value but the first of its container, and none
  // after a key.
  void BeforeValue();
  void Open(char c);
  void Close(char c);

  std::string out_;
  std::vector<bool> has_value_;  // Per open container.
  bool after_key_ = false;
};

}  // namespace mrpc

#endif  // MRPC_RPC_HTTP_PAGES_TEXT_H_
