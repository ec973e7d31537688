import Foundation
import NIOCore
import PostgresNIO

/// A one-dimensional array in PostgreSQL's binary form, written straight from the rows of a write: one buffer sized
/// once. (postgres-nio's encoding of a Swift array grows its buffer as it goes, and a record had to be copied into a
/// buffer of its own first; encoding a write's arrays was a tenth of a node's CPU.)
struct BinaryArray {
    private var buffer = ByteBuffer()
    private let type: PostgresDataType

    /// An array of `count` elements of `element` holding `bytes` bytes in all (lengths aside).
    init(of element: PostgresDataType, _ type: PostgresDataType, count: Int, bytes: Int) {
        self.type = type
        buffer.reserveCapacity(20 + count * 4 + bytes)
        buffer.writeInteger(Int32(count == 0 ? 0 : 1))  // dimensions
        buffer.writeInteger(Int32(0))  // no nulls
        buffer.writeInteger(element.rawValue)
        if count > 0 {
            buffer.writeInteger(Int32(count))
            buffer.writeInteger(Int32(1))  // lower bound
        }
    }

    /// `values` as `bigint[]`.
    static func int8(_ values: some Collection<Int64>) -> PostgresData { integers(values, .int8, .int8Array) }

    /// `values` as `smallint[]`.
    static func int2(_ values: some Collection<Int16>) -> PostgresData { integers(values, .int2, .int2Array) }

    private static func integers<Integer: FixedWidthInteger>(
        _ values: some Collection<Integer>, _ element: PostgresDataType, _ type: PostgresDataType
    ) -> PostgresData {
        let size = MemoryLayout<Integer>.size
        var array = BinaryArray(of: element, type, count: values.count, bytes: size * values.count)
        for value in values {
            array.buffer.writeInteger(Int32(size))
            array.buffer.writeInteger(value)
        }
        return array.data
    }

    /// `values` as `uuid[]`.
    static func uuid(_ values: some Collection<UUID>) -> PostgresData {
        var array = BinaryArray(of: .uuid, .uuidArray, count: values.count, bytes: 16 * values.count)
        for value in values {
            array.buffer.writeInteger(Int32(16))
            withUnsafeBytes(of: value.uuid) { _ = array.buffer.writeBytes($0) }
        }
        return array.data
    }

    /// `values` as `text[]`.
    static func text(_ values: some Collection<String>) -> PostgresData {
        var array = BinaryArray(of: .text, .textArray, count: values.count, bytes: values.reduce(0) { $0 + $1.utf8.count })
        for value in values {
            array.buffer.writeInteger(Int32(value.utf8.count))
            array.buffer.writeString(value)
        }
        return array.data
    }

    /// `values` as `bytea[]`.
    static func bytea(_ values: some Collection<[UInt8]>) -> PostgresData {
        var array = BinaryArray(of: .bytea, .byteaArray, count: values.count, bytes: values.reduce(0) { $0 + $1.count })
        for value in values {
            array.buffer.writeInteger(Int32(value.count))
            array.buffer.writeBytes(value)
        }
        return array.data
    }

    private var data: PostgresData { PostgresData(type: type, formatCode: .binary, value: buffer) }
}
