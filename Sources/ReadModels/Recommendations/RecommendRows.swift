import Commerce
import EventCodec
import LMDB

// Rows encoded by hand (see `BinaryFastEncodable`): the model's stored form.

extension RecommendProjection.Item: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.string(title)
        w.string(category)
        w.string(brand)
        w.strings(tags)
        w.bool(listed)
        w.int64(listedAt)
        w.double(hot)
        w.int64(scoredAt)
        w.int(orders)
    }
}

extension RecommendProjection.Profile: BinaryFastEncodable {
    public func encode(binary w: inout BinaryWriter) {
        w.array(viewed) { $0.id($1) }
        w.array(favorites) { $0.id($1) }
        w.array(purchased) { $0.id($1) }
        w.array(history) { writer, purchase in
            writer.id(purchase.goods)
            writer.int64(purchase.at)
        }
        w.array(carted) { $0.id($1) }
    }
}
