#include "rpc/http/prometheus.h"

#include <glog/logging.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace mrpc {
namespace {

bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (colon && c == ':');
}

// [a-zA-Z_:][a-zA-Z0-9_:]* for metrics; no ':' in label names.
bool IsValidName(absl::string_view name, bool colon) {
  if (name.empty() || !IsNameStart(name[0], colon)) return false;
  for (char c : name) {
    if (!IsNameStart(c, colon) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

const char* TypeName(PrometheusWriter::Type type) {
  switch (type) {
    case PrometheusWriter::kCounter:
      return "counter";
    case PrometheusWriter::kGauge:
      return "gauge";
    case PrometheusWriter::kHistogram:
      return "histogram";
  }
  return "untyped";
}

}  // namespace

std::string PrometheusWriter::EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PrometheusWriter::EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PrometheusWriter::FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integers (counters) exactly, without an exponent up to 2^53.
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // The shortest of 15 or 17 digits that reads back as the same double.
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.15g", value);
  if (std::strtod(buf, nullptr) != value) {
    std::snprintf(buf, sizeof(buf), "%.17g", value);
  }
  return buf;
}

PrometheusWriter::Family& PrometheusWriter::FamilyFor(absl::string_view name,
                                                      Type type,
                                                      absl::string_view help) {
  CHECK(IsValidName(name, /*colon=*/true)) << "bad metric name " << name;
  auto it = index_.find(name);
  if (it != index_.end()) {
    Family& family = families_[it->second];
    CHECK_EQ(family.type, type) << "metric " << name << " added as two types";
    return family;
  }
  index_.emplace(std::string(name), families_.size());
  families_.push_back(Family{std::string(name), type, std::string(help), {}});
  return families_.back();
}

void PrometheusWriter::AppendSample(std::string* out, absl::string_view name,
                                    const Labels& labels,
                                    absl::string_view extra_name,
                                    absl::string_view extra_value,
                                    double value) {
  absl::StrAppend(out, name);
  if (!labels.empty() || !extra_name.empty()) {
    out->push_back('{');
    bool first = true;
    for (const auto& [label, label_value] : labels) {
      CHECK(IsValidName(label, /*colon=*/false)) << "bad label name " << label;
      absl::StrAppend(out, first ? "" : ",", label, "=\"",
                      EscapeLabelValue(label_value), "\"");
      first = false;
    }
    if (!extra_name.empty()) {
      absl::StrAppend(out, first ? "" : ",", extra_name, "=\"", extra_value,
                      "\"");
    }
    out->push_back('}');
  }
  absl::StrAppend(out, " ", FormatValue(value), "\n");
}

void PrometheusWriter::Add(absl::string_view name, Type type,
                           absl::string_view help, const Labels& labels,
                           double value) {
  CHECK_NE(type, kHistogram) << "use AddHistogram for " << name;
  Family& family = FamilyFor(name, type, help);
  AppendSample(&family.samples, name, labels, "", "", value);
}

void PrometheusWriter::AddHistogram(absl::string_view name,
                                    absl::string_view help,
                                    const Labels& labels,
                                    const std::vector<double>& bounds,
                                    const std::vector<uint64_t>& counts,
                                    double sum) {
  CHECK_EQ(counts.size(), bounds.size() + 1) << name;
  Family& family = FamilyFor(name, kHistogram, help);
  const std::string bucket = absl::StrCat(name, "_bucket");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += counts[i];
    const double le = i < bounds.size() ? bounds[i] : INFINITY;
    AppendSample(&family.samples, bucket, labels, "le", FormatValue(le),
                 static_cast<double>(cumulative));
  }
  AppendSample(&family.samples, absl::StrCat(name, "_sum"), labels, "", "",
               sum);
  AppendSample(&family.samples, absl::StrCat(name, "_count"), labels, "", "",
               static_cast<double>(cumulative));
}

std::string PrometheusWriter::Finish() const {
  std::string out;
  for (const Family& family : families_) {
    if (family.samples.empty()) continue;
    absl::StrAppend(&out, "# HELP ", family.name, " ", EscapeHelp(family.help),
                    "\n# TYPE ", family.name, " ", TypeName(family.type), "\n",
                    family.samples);
  }
  return out;
}

}  // namespace mrpc
