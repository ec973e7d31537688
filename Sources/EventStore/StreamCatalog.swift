import LMDB

/// One stream as the stream browser lists it: its name, how many events it holds, and where the last one is.
public struct StreamSummary: Codable, Hashable, Sendable {
    public var stream: String
    /// Its version: the number of events it holds.
    public var events: UInt64
    /// The log position of its newest event.
    public var lastPosition: UInt64
}

/// A category of streams (`order` for `order-…`) and how many streams it has.
public struct StreamCategory: Codable, Hashable, Sendable {
    public var category: String
    public var streams: Int
}

extension EventLog {
    /// The most streams one page lists.
    public static let streamPageMax = 500

    /// Streams whose names start with `prefix`, in name (byte) order, after the name `after`, at most `limit`;
    /// `next` is the last name listed when more follow. Reads the names index and one chain head per stream.
    public func streams(prefix: String, after: String? = nil, limit: Int) throws -> (streams: [StreamSummary], next: String?) {
        try query { queries in try queries.streams(prefix: prefix, after: after, limit: min(max(limit, 1), Self.streamPageMax)) }
    }

    /// Every category (a stream name's text before its first `-`) with how many streams it has, in name order.
    /// One walk over the stream names (keys only), so its cost grows with the number of streams.
    public func streamCategories() throws -> [StreamCategory] {
        try query { try $0.streamCategories() }
    }
}

extension LogQueries {
    func streams(prefix: String, after: String?, limit: Int) throws -> (streams: [StreamSummary], next: String?) {
        let start = Key.name(.stream, after.map { $0 > prefix ? $0 : prefix } ?? prefix)
        let wanted = Key.name(.stream, prefix)
        var listed: [StreamSummary] = []
        var more = false
        try txn.withCursor(schema.names) { cursor in
            var entry = try cursor.seek(atLeast: start)
            while let (key, value) = entry, key.starts(with: wanted) {
                let name = String(decoding: UnsafeRawBufferPointer(rebasing: key[1...]), as: UTF8.self)
                if name == after {
                    entry = try cursor.next()
                    continue
                }
                if listed.count == limit {
                    more = true
                    break
                }
                if let head = try chainHead(ChainKey(kind: .stream, number: Key.readU64(value))) {
                    listed.append(StreamSummary(stream: name, events: head.count, lastPosition: head.last))
                }
                entry = try cursor.next()
            }
        }
        return (listed, more ? listed.last?.stream : nil)
    }

    func streamCategories() throws -> [StreamCategory] {
        var counts: [String: Int] = [:]
        try txn.withCursor(schema.names) { cursor in
            var entry = try cursor.seek(atLeast: [LogSchema.NameKind.stream.rawValue])
            while let (key, _) = entry, key.first == LogSchema.NameKind.stream.rawValue {
                let name = UnsafeRawBufferPointer(rebasing: key[1...])
                counts[String(decoding: name.prefix { $0 != UInt8(ascii: "-") }, as: UTF8.self), default: 0] += 1
                entry = try cursor.next()
            }
        }
        return counts.map { StreamCategory(category: $0.key, streams: $0.value) }.sorted { $0.category < $1.category }
    }
}
