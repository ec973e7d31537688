import CommandEngine

extension CommandOutcome {
    /// The answer as JSON, byte for byte what `JSONEncoder` with sorted keys
    /// and unescaped slashes writes of `{"events", "replayed", "result"}`
    /// (a test holds it to that), written directly: the encoder was a
    /// twentieth of the server's time under load. `result` holds the typed
    /// result's values as strings, as the wire format has always had them.
    public var json: [UInt8] {
        let values = result.values
        var out: [UInt8] = []
        out.reserveCapacity(64 + events.count * 120 + values.count * 48)
        out.append(contentsOf: #"{"events":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"position":"#.utf8)
            out.append(contentsOf: String(event.position).utf8)
            out.append(contentsOf: #","stream":"#.utf8)
            JSONText.string(event.stream, into: &out)
            out.append(contentsOf: #","type":"#.utf8)
            JSONText.string(event.type, into: &out)
            out.append(contentsOf: #","version":"#.utf8)
            out.append(contentsOf: String(event.version).utf8)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"replayed":"#.utf8)
        out.append(contentsOf: (replayed ? "true" : "false").utf8)
        out.append(contentsOf: #","result":{"#.utf8)
        for (index, key) in values.keys.sorted().enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.string(key, into: &out)
            out.append(UInt8(ascii: ":"))
            JSONText.string(values[key] ?? "", into: &out)
        }
        out.append(contentsOf: "}}".utf8)
        return out
    }
}
