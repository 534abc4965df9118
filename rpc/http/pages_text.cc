#include "rpc/http/pages_text.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "rpc/http/http_status.h"

namespace mrpc {

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_value_.empty()) {
    if (has_value_.back()) out_ += ',';
    has_value_.back() = true;
  }
}

void JsonWriter::Open(char c) {
  BeforeValue();
  out_ += c;
  has_value_.push_back(false);
}

void JsonWriter::Close(char c) {
  out_ += c;
  has_value_.pop_back();
}

void JsonWriter::BeginObject() { Open('{'); }
void JsonWriter::EndObject() { Close('}'); }
void JsonWriter::BeginArray() { Open('['); }
void JsonWriter::EndArray() { Close(']'); }

void JsonWriter::Key(absl::string_view key) {
  BeforeValue();
  absl::StrAppend(&out_, JsonQuote(key), ":");
  after_key_ = true;
}

void JsonWriter::String(absl::string_view value) {
  BeforeValue();
  out_ += JsonQuote(value);
}

void JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
}

void JsonWriter::Double(double value) {
  BeforeValue();
  if (!std::isfinite(value)) value = 0;
  // %.6g: enough for rates and microseconds; never "nan" or "inf".
  absl::StrAppend(&out_, absl::StrFormat("%.6g", value));
}

void JsonWriter::Bool(bool value) {
  BeforeValue();
  out_ += value ? "true" : "false";
}

void JsonWriter::FieldString(absl::string_view key, absl::string_view value) {
  Key(key);
  String(value);
}
void JsonWriter::FieldUint(absl::string_view key, uint64_t value) {
  Key(key);
  Uint(value);
}
void JsonWriter::FieldInt(absl::string_view key, int64_t value) {
  Key(key);
  Int(value);
}
void JsonWriter::FieldDouble(absl::string_view key, double value) {
  Key(key);
  Double(value);
}
void JsonWriter::FieldBool(absl::string_view key, bool value) {
  Key(key);
  Bool(value);
}

std::string JsonWriter::Take() {
  has_value_.clear();
  after_key_ = false;
  return std::exchange(out_, std::string());
}

}  // namespace mrpc
