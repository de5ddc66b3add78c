// tests/support/scripted_log.hpp - an in-memory sse::backplane that the test drives.
#ifndef SSE_TESTS_SUPPORT_SCRIPTED_LOG_HPP
#define SSE_TESTS_SUPPORT_SCRIPTED_LOG_HPP

#include <sse/backplane.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace support {

/** A log in memory, with nothing happening on its own: the test decides when the
    hub hears of it (sync(), deliver(), answer_reads()).

    - publish() records the request; then, by `mode`, appends it to the log and
      answers with its position (the hub sees it only at deliver()), fails inline
      with error::backplane_unavailable, or keeps the answer for later.
    - read() answers at once from the log, or waits for answer_reads(), so that
      live entries can reach the hub while a read is under way.
    - The test can also write the log directly (as another node would), trim its
      front, or move it to a new epoch.

    Thread safety: every member may be called from any thread; the receiver is
    called without the log's lock held.
*/
class scripted_log : public sse::backplane
{
public:
    enum class publish_mode { accept, fail_inline };

    explicit scripted_log(std::string epoch = "log1") : epoch_(std::move(epoch)) {}

    // sse::backplane ----------------------------------------------------------

    void start(std::shared_ptr<sse::backplane_receiver> receiver, std::size_t tail) override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        receiver_ = std::move(receiver);
        tail_ = tail;
        ++starts_;
    }

    void publish(sse::log_publish p, publish_handler done) override
    {
        std::unique_lock<std::mutex> lock(mutex_);
        published_.push_back(p);
        if (mode_ == publish_mode::fail_inline) {
            lock.unlock();
            if (done)
                done(sse::error::backplane_unavailable, {}, 0);
            return;
        }
        if (!p.epoch.empty() && p.epoch != epoch_) {
            lock.unlock();
            if (done)
                done(sse::error::backplane_epoch_changed, {}, 0);
            return;
        }
        std::uint64_t seq = 0;
        if (auto const it = idempotency_.find(p.idempotency_key); !p.idempotency_key.empty() && it != idempotency_.end()) {
            seq = it->second;
        } else {
            seq = append_locked(std::move(p.ev), std::move(p.to), std::move(p.key));
            if (!p.idempotency_key.empty())
                idempotency_.emplace(p.idempotency_key, seq);
        }
        std::string const epoch = epoch_;
        lock.unlock();
        if (done)
            done({}, epoch, seq);
    }

    void read(std::string const& epoch, std::uint64_t after, std::uint64_t up_to, read_handler done) override
    {
        std::unique_lock<std::mutex> lock(mutex_);
        ++reads_;
        if (hold_reads_) {
            held_.push_back(held_read{epoch, after, up_to, std::move(done)});
            return;
        }
        auto got = range_locked(epoch, after, up_to);
        lock.unlock();
        done({}, std::move(got));
    }

    void stop() noexcept override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ++stops_;
    }

    // What the test does -------------------------------------------------------

    void set_mode(publish_mode m)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        mode_ = m;
    }

    /// Reads wait for answer_reads() (true) or are answered at once (false).
    void hold_reads(bool hold)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        hold_reads_ = hold;
    }

    /// Appends an entry as another node would; the hub hears of it at deliver().
    std::uint64_t append(sse::event e, sse::audience to = {}, std::string key = {})
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return append_locked(std::move(e), std::move(to), std::move(key));
    }

    /// Calls synced() with the epoch, the head and the newest entries (the hub's tail size).
    void sync()
    {
        std::shared_ptr<sse::backplane_receiver> r;
        std::string epoch;
        std::uint64_t head = 0;
        std::vector<sse::log_entry> tail;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            r = receiver_;
            epoch = epoch_;
            head = head_;
            std::size_t const n = std::min(tail_, entries_.size());
            tail.assign(entries_.end() - static_cast<std::ptrdiff_t>(n), entries_.end());
            handed_ = head_;
        }
        r->synced(std::move(epoch), head, std::move(tail));
    }

    /// Hands the hub the entries it has not been handed yet, in one batch. Returns how many.
    std::size_t deliver()
    {
        std::shared_ptr<sse::backplane_receiver> r;
        std::vector<sse::log_entry> batch;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            r = receiver_;
            for (auto const& e : entries_)
                if (e.seq > handed_)
                    batch.push_back(e);
            handed_ = head_;
        }
        std::size_t const n = batch.size();
        if (n != 0)
            r->entries(std::move(batch));
        return n;
    }

    /// Hands the hub exactly `batch` (duplicates, gaps: whatever the test wants).
    void hand(std::vector<sse::log_entry> batch)
    {
        std::shared_ptr<sse::backplane_receiver> r;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            r = receiver_;
        }
        r->entries(std::move(batch));
    }

    /// The entry at `seq`, as the log holds it.
    sse::log_entry entry(std::uint64_t seq) const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto const& e : entries_)
            if (e.seq == seq)
                return e;
        return {};
    }

    /// Marks everything up to `seq` as handed (so that deliver() skips it: lost entries).
    void skip_to(std::uint64_t seq)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        handed_ = seq;
    }

    /// Drops the entries up to `seq` from the log (MAXLEN trimming).
    void trim_to(std::uint64_t seq)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](auto const& e) { return e.seq <= seq; }),
            entries_.end());
    }

    /// The log moves to `epoch` at position `head`, emptied (a store that restarted).
    void new_epoch(std::string epoch, std::uint64_t head = 0)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        epoch_ = std::move(epoch);
        head_ = head;
        handed_ = head;
        entries_.clear();
        idempotency_.clear();
    }

    /// The log goes back to `head` (restored from an older snapshot): newer entries are lost.
    void roll_back(std::uint64_t head)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        trim_after_locked(head);
        head_ = head;
        handed_ = std::min(handed_, head);
    }

    /// Answers the held reads, oldest first. `answer` may change what each gets.
    template<class Answer>
    std::size_t answer_reads(Answer&& answer)
    {
        std::vector<held_read> held;
        std::vector<std::vector<sse::log_entry>> found;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            held = std::move(held_);
            held_.clear();
            for (auto const& h : held)
                found.push_back(range_locked(h.epoch, h.after, h.up_to));
        }
        // Without the lock: `answer` may look at the log.
        for (std::size_t i = 0; i < held.size(); ++i) {
            sse::error_code ec;
            answer(held[i].epoch, held[i].after, held[i].up_to, ec, found[i]);
            held[i].done(ec, std::move(found[i]));
        }
        return held.size();
    }

    std::size_t answer_reads()
    {
        return answer_reads([](auto const&, auto, auto, auto&, auto&) {});
    }

    std::vector<sse::log_publish> published() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return published_;
    }

    std::string epoch() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return epoch_;
    }

    std::uint64_t head() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return head_;
    }

    std::size_t tail_size() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return tail_;
    }

    int starts() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return starts_;
    }

    int stops() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return stops_;
    }

    int reads() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return reads_;
    }

    std::size_t held_reads() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return held_.size();
    }

    std::shared_ptr<sse::backplane_receiver> receiver() const
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return receiver_;
    }

private:
    struct held_read
    {
        std::string epoch;
        std::uint64_t after;
        std::uint64_t up_to;
        read_handler done;
    };

    std::uint64_t append_locked(sse::event e, sse::audience to, std::string key)
    {
        sse::log_entry entry;
        entry.seq = ++head_;
        entry.ev = std::move(e);
        entry.to = std::move(to);
        entry.key = std::move(key);
        entries_.push_back(std::move(entry));
        return head_;
    }

    void trim_after_locked(std::uint64_t seq)
    {
        entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](auto const& e) { return e.seq > seq; }),
            entries_.end());
    }

    // As a log answers a range: what it still has of it, nothing for another epoch.
    std::vector<sse::log_entry> range_locked(std::string const& epoch, std::uint64_t after, std::uint64_t up_to) const
    {
        std::vector<sse::log_entry> got;
        if (epoch != epoch_)
            return got;
        for (auto const& e : entries_)
            if (e.seq > after && e.seq <= up_to)
                got.push_back(e);
        return got;
    }

    mutable std::mutex mutex_;
    std::string epoch_;
    std::uint64_t head_ = 0;
    std::uint64_t handed_ = 0;   // the newest position handed to the receiver
    std::vector<sse::log_entry> entries_;
    std::map<std::string, std::uint64_t> idempotency_;
    std::vector<sse::log_publish> published_;
    std::vector<held_read> held_;
    std::shared_ptr<sse::backplane_receiver> receiver_;
    std::size_t tail_ = 0;
    publish_mode mode_ = publish_mode::accept;
    bool hold_reads_ = false;
    int starts_ = 0;
    int stops_ = 0;
    int reads_ = 0;
};

} // namespace support

#endif
