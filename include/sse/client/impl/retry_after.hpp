// sse/client/impl/retry_after.hpp - Retry-After and HTTP-dates (RFC 9110), for the event source's policy.
#ifndef SSE_CLIENT_IMPL_RETRY_AFTER_HPP
#define SSE_CLIENT_IMPL_RETRY_AFTER_HPP

#include <sse/config.hpp>
#include <sse/http/response_head.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

SSE_NAMESPACE_BEGIN
namespace detail {
namespace source {

// Days from 1970-01-01 to the proleptic Gregorian date y-m-d: whole 400-year
// eras of 146097 days, the years before the date's in its era, and the day of
// a year counted from March, so that the leap day comes last.
inline std::int64_t days_from_civil(std::int64_t y, int m, int d) noexcept
{
    y -= m <= 2 ? 1 : 0;
    std::int64_t const era = (y >= 0 ? y : y - 399) / 400;
    std::int64_t const year_of_era = y - era * 400;
    std::int64_t const day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    std::int64_t const day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

inline bool two_or_four_digits(std::string_view s, int& out) noexcept
{
    out = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return false;
        out = out * 10 + (c - '0');
    }
    return !s.empty();
}

inline int month_number(std::string_view name) noexcept
{
    static constexpr std::string_view months[] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (name == months[i])
            return i + 1;
    return 0;
}

// An HTTP-date as seconds since 1970 (RFC 9110 5.6.7): IMF-fixdate
// "Sun, 06 Nov 1994 08:49:37 GMT", and the obsolete forms a recipient must
// still accept, RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime
// "Sun Nov  6 08:49:37 1994". The day name is not checked.
inline std::optional<std::int64_t> http_date(std::string_view v) noexcept
{
    std::string_view day, month, year, time;
    auto const comma = v.find(',');
    if (comma != std::string_view::npos) {
        std::string_view const rest = v.substr(comma + 1);
        if (rest.size() == 25 && rest[0] == ' ' && rest[3] == ' ' && rest[7] == ' ' && rest[12] == ' ' &&
            rest.substr(21) == " GMT") {
            day = rest.substr(1, 2), month = rest.substr(4, 3), year = rest.substr(8, 4), time = rest.substr(13, 8);
        } else if (rest.size() == 23 && rest[0] == ' ' && rest[3] == '-' && rest[7] == '-' && rest[10] == ' ' &&
                   rest.substr(19) == " GMT") {
            day = rest.substr(1, 2), month = rest.substr(4, 3), year = rest.substr(8, 2), time = rest.substr(11, 8);
        } else {
            return std::nullopt;
        }
    } else if (v.size() == 24 && v[3] == ' ' && v[7] == ' ' && v[10] == ' ' && v[19] == ' ') {
        month = v.substr(4, 3), day = v.substr(8, 2), time = v.substr(11, 8), year = v.substr(20, 4);
        if (day[0] == ' ')
            day.remove_prefix(1);
    } else {
        return std::nullopt;
    }
    int d = 0, y = 0, hh = 0, mm = 0, ss = 0;
    int const m = month_number(month);
    if (m == 0 || !two_or_four_digits(day, d) || !two_or_four_digits(year, y) || time[2] != ':' ||
        time[5] != ':' || !two_or_four_digits(time.substr(0, 2), hh) || !two_or_four_digits(time.substr(3, 2), mm) ||
        !two_or_four_digits(time.substr(6, 2), ss))
        return std::nullopt;
    if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60)
        return std::nullopt;
    // RFC 9110 5.6.7 asks to read a two-digit year that looks more than 50 years
    // ahead as the past year with those digits; against today's dates that is
    // 20yy up to 2069, 19yy from 70.
    if (year.size() == 2)
        y += y < 70 ? 2000 : 1900;
    return days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

// Retry-After (RFC 9110 10.2.3): delay-seconds, or an HTTP-date measured from
// the answer's Date field (the server's own clock: no skew) or, without one,
// from `wall_now`. Capped at `limit`; a date in the past is no delay.
inline std::optional<std::chrono::milliseconds> retry_after(http::response_head const& head,
                                                            std::chrono::system_clock::time_point wall_now,
                                                            std::chrono::milliseconds limit)
{
    auto const value = head.fields().find("Retry-After");
    if (!value || value->empty())
        return std::nullopt;
    std::int64_t const limit_s = std::max<std::int64_t>(0, limit.count() / 1000 + 1);
    std::int64_t seconds = 0;
    bool digits = true;
    for (char c : *value) {
        if (c < '0' || c > '9') {
            digits = false;
            break;
        }
        seconds = std::min(seconds * 10 + (c - '0'), limit_s);
    }
    if (!digits) {
        auto const at = http_date(*value);
        if (!at)
            return std::nullopt;
        std::optional<std::int64_t> now_s;
        if (auto const date = head.fields().find("Date"))
            now_s = http_date(*date);
        if (!now_s)
            now_s = std::chrono::duration_cast<std::chrono::seconds>(wall_now.time_since_epoch()).count();
        seconds = std::clamp<std::int64_t>(*at - *now_s, 0, limit_s);
    }
    return std::min<std::chrono::milliseconds>(std::chrono::seconds(seconds), limit);
}

} // namespace source
} // namespace detail
SSE_NAMESPACE_END

#endif
