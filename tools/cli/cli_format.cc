#include "tools/cli/cli_format.h"

#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace mrpc::cli {
namespace {

namespace pb = google::protobuf;

absl::StatusOr<std::string> ToJson(const pb::Message& message) {
  std::string json;
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;
  auto status = pb::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print ",
                                            message.GetTypeName(),
                                            " as JSON: ", status.ToString()));
  }
  return json;
}

// Message and enum types that `type`'s fields use, transitively, in the
// order first met; nested types are left out (their parent's definition
// shows them), and so are protobuf's own (google.protobuf.*).
void CollectFieldTypes(const pb::Descriptor* type,
                       absl::flat_hash_set<const void*>* seen,
                       std::vector<const pb::Descriptor*>* messages,
                       std::vector<const pb::EnumDescriptor*>* enums) {
  for (int i = 0; i < type->field_count(); ++i) {
    const pb::FieldDescriptor* field = type->field(i);
    if (const pb::Descriptor* m = field->message_type()) {
      const pb::Descriptor* top = m;
      while (top->containing_type() != nullptr) top = top->containing_type();
      if (top->file()->package() == "google.protobuf" ||
          !seen->insert(top).second) {
        continue;
      }
      messages->push_back(top);
      CollectFieldTypes(top, seen, messages, enums);
    } else if (const pb::EnumDescriptor* e = field->enum_type()) {
      if (e->containing_type() != nullptr) {
        const pb::Descriptor* top = e->containing_type();
        while (top->containing_type() != nullptr) top = top->containing_type();
        if (seen->insert(top).second) {
          messages->push_back(top);
          CollectFieldTypes(top, seen, messages, enums);
        }
      } else if (seen->insert(e).second) {
        enums->push_back(e);
      }
    }
  }
}

template <typename D>
std::string Definition(const D* descriptor) {
  pb::DebugStringOptions options;
  options.include_comments = true;  // When the server sent source info.
  return descriptor->DebugStringWithOptions(options);
}

// protoc's default JSON name: "foo_bar" -> "fooBar".
std::string DefaultJsonName(absl::string_view name) {
  std::string out;
  bool upper = false;
  for (char c : name) {
    if (c == '_') {
      upper = true;
    } else {
      out += upper ? absl::ascii_toupper(c) : c;
      upper = false;
    }
  }
  return out;
}

// Removes `[json_name = "x"]` where x is the default. The server sends every
// field's JSON name (so a client's JSON matches the server's), and
// DebugString() prints each one, which buries the definition in noise.
void StripDefaultJsonNames(const pb::Descriptor* type, std::string* text) {
  for (int i = 0; i < type->field_count(); ++i) {
    const pb::FieldDescriptor* field = type->field(i);
    if (field->json_name() != DefaultJsonName(field->name())) continue;
    const std::string head =
        absl::StrCat(" ", field->name(), " = ", field->number(), " [");
    const std::string option =
        absl::StrCat("json_name = ", JsonQuote(field->json_name()));
    *text = absl::StrReplaceAll(
        *text, {{absl::StrCat(head, option, "];"),
                 absl::StrCat(" ", field->name(), " = ", field->number(), ";")},
                {absl::StrCat(head, option, ", "), head}});
  }
  for (int i = 0; i < type->nested_type_count(); ++i) {
    StripDefaultJsonNames(type->nested_type(i), text);
  }
}

std::string Definition(const pb::Descriptor* type) {
  pb::DebugStringOptions options;
  options.include_comments = true;
  std::string text = type->DebugStringWithOptions(options);
  StripDefaultJsonNames(type, &text);
  return text;
}

template <typename D>
std::string Header(const D* descriptor, absl::string_view kind) {
  return absl::StrCat("// ", descriptor->full_name(), ": ", kind, " in ",
                      descriptor->file()->name(), "\n");
}

std::string DescribeMethod(const pb::MethodDescriptor* method) {
  std::string out = absl::StrCat(
      "// ", method->service()->full_name(), "/", method->name(),
      ": method in ", method->file()->name(), "\n", Definition(method));
  absl::flat_hash_set<const void*> seen;
  std::vector<const pb::Descriptor*> messages;
  std::vector<const pb::EnumDescriptor*> enums;
  for (const pb::Descriptor* type :
       {method->input_type(), method->output_type()}) {
    if (!seen.insert(type).second) continue;
    messages.push_back(type);
    CollectFieldTypes(type, &seen, &messages, &enums);
  }
  for (const pb::Descriptor* type : messages) {
    absl::StrAppend(&out, "\n", Header(type, "message"), Definition(type));
  }
  for (const pb::EnumDescriptor* type : enums) {
    absl::StrAppend(&out, "\n", Header(type, "enum"), Definition(type));
  }
  return out;
}

}  // namespace

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string StatusToJson(const absl::Status& status) {
  return absl::StrCat(
      "{\"code\":", JsonQuote(absl::StatusCodeToString(status.code())),
      ",\"code_number\":", static_cast<int>(status.code()),
      ",\"message\":", JsonQuote(status.message()), "}");
}

std::string FormatServices(const std::vector<ReflectedService>& services) {
  std::string out;
  for (const ReflectedService& service : services) {
    absl::StrAppend(&out, service.name, "\n");
    size_t width = 0;
    for (const ReflectedMethod& m : service.methods) {
      width = std::max(width, m.name.size() + m.request_type.size() + 2);
    }
    for (const ReflectedMethod& m : service.methods) {
      absl::StrAppendFormat(
          &out, "  %-*s returns (%s)%s\n", static_cast<int>(width),
          absl::StrCat(m.name, "(", m.request_type, ")"), m.response_type,
          m.idempotent ? "  [idempotent]" : "");
    }
  }
  return out;
}

std::string ServicesToJson(const std::vector<ReflectedService>& services) {
  std::string out = "{\"services\":[";
  for (size_t i = 0; i < services.size(); ++i) {
    const ReflectedService& service = services[i];
    absl::StrAppend(&out, i > 0 ? "," : "",
                    "{\"name\":", JsonQuote(service.name), ",\"methods\":[");
    for (size_t j = 0; j < service.methods.size(); ++j) {
      const ReflectedMethod& m = service.methods[j];
      absl::StrAppend(&out, j > 0 ? "," : "", "{\"name\":", JsonQuote(m.name),
                      ",\"requestType\":", JsonQuote(m.request_type),
                      ",\"responseType\":", JsonQuote(m.response_type),
                      ",\"idempotent\":", m.idempotent ? "true" : "false", "}");
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

std::string DescribeText(const Symbol& symbol) {
  if (symbol.method != nullptr) return DescribeMethod(symbol.method);
  if (symbol.service != nullptr) {
    return Header(symbol.service, "service") + Definition(symbol.service);
  }
  if (symbol.message != nullptr) {
    return Header(symbol.message, "message") + Definition(symbol.message);
  }
  if (symbol.enum_type != nullptr) {
    return Header(symbol.enum_type, "enum") + Definition(symbol.enum_type);
  }
  return "";
}

absl::StatusOr<std::string> DescribeJson(const Symbol& symbol) {
  std::string name, kind, file;
  std::unique_ptr<pb::Message> proto;
  std::string extra;
  if (symbol.method != nullptr) {
    const pb::MethodDescriptor* m = symbol.method;
    name = absl::StrCat(m->service()->full_name(), "/", m->name());
    kind = "method";
    file = m->file()->name();
    auto p = std::make_unique<pb::MethodDescriptorProto>();
    m->CopyTo(p.get());
    proto = std::move(p);
    for (const auto& [key, type] :
         {std::make_pair("request", m->input_type()),
          std::make_pair("response", m->output_type())}) {
      pb::DescriptorProto type_proto;
      type->CopyTo(&type_proto);
      absl::StatusOr<std::string> json = ToJson(type_proto);
      if (!json.ok()) return json.status();
      absl::StrAppend(&extra, ",\"", key,
                      "Type\":", JsonQuote(type->full_name()), ",\"", key,
                      "\":", *json);
    }
  } else if (symbol.service != nullptr) {
    name = symbol.service->full_name();
    kind = "service";
    file = symbol.service->file()->name();
    auto p = std::make_unique<pb::ServiceDescriptorProto>();
    symbol.service->CopyTo(p.get());
    proto = std::move(p);
  } else if (symbol.message != nullptr) {
    name = symbol.message->full_name();
    kind = "message";
    file = symbol.message->file()->name();
    auto p = std::make_unique<pb::DescriptorProto>();
    symbol.message->CopyTo(p.get());
    proto = std::move(p);
  } else if (symbol.enum_type != nullptr) {
    name = symbol.enum_type->full_name();
    kind = "enum";
    file = symbol.enum_type->file()->name();
    auto p = std::make_unique<pb::EnumDescriptorProto>();
    symbol.enum_type->CopyTo(p.get());
    proto = std::move(p);
  } else {
    return absl::InternalError("no symbol to describe");
  }
  absl::StatusOr<std::string> json = ToJson(*proto);
  if (!json.ok()) return json.status();
  return absl::StrCat(
      "{\"symbol\":", JsonQuote(name), ",\"kind\":", JsonQuote(kind),
      ",\"file\":", JsonQuote(file), ",\"descriptor\":", *json, extra, "}");
}

}  // namespace mrpc::cli
