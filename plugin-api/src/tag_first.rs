//! Internally tagged enums (`{"op": "place_order", "order": {..}}`) read without buffering.
//!
//! serde's derive reads an internally tagged enum by first copying the whole object into an
//! intermediate tree (every key and string allocated), finding the tag in it, then reading the
//! variant from the copy. Every venue call, step, stream event and risk verdict crosses the
//! plugin boundary in this shape. Reading an order's `VenueOp` on the way to the wire took
//! 19.4 µs that way, 9.1 µs this way (BENCHMARKS.md, "Cold code; the boundary's enums").
//!
//! Every encoder of this crate writes the tag first (serde's derive serializes it first), so
//! [`deserialize`] reads the first key: when it is the tag, the rest of the object is read
//! straight into the variant. Otherwise (JSON written by hand, keys reordered) the object is
//! buffered as before and read from the buffer. The JSON is the same either way: this changes
//! how fast it is read, not what is accepted, so plugins built against any 0.2 release are
//! unaffected. (One difference at the edge: a second copy of the tag after the first is
//! ignored as an unknown field, where serde's buffer refuses it as a duplicate.)
//!
//! [`tag_first_enum!`] defines such an enum once: it derives `Serialize` with the tag, and
//! `Deserialize` through this module, with a private externally tagged copy of the enum
//! (serde's `remote`) that knows how to read each variant's fields.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// Reads the enum from a deserializer positioned at one variant (the externally tagged view
/// [`tag_first_enum!`] derives).
pub(crate) trait External<'de>: Sized {
    /// The enum, read through `Deserializer::deserialize_enum`.
    fn external<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

/// Reads an internally tagged enum whose tag is `tag` (see the module's doc).
pub(crate) fn deserialize<'de, D, T>(d: D, tag: &'static str) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: External<'de>,
{
    d.deserialize_map(TaggedVisitor {
        tag,
        out: PhantomData,
    })
}

struct TaggedVisitor<T> {
    tag: &'static str,
    out: PhantomData<T>,
}

impl<'de, T: External<'de>> Visitor<'de> for TaggedVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object with a {:?} field", self.tag)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let Some(Text(first)) = map.next_key::<Text>()? else {
            return Err(de::Error::missing_field(self.tag));
        };
        if first == self.tag {
            let Text(variant) = map.next_value::<Text>()?;
            return T::external(Variant { variant, rest: map });
        }
        // The tag is not first: buffer the object, as serde's derive does.
        let mut rest = serde_json::Map::new();
        rest.insert(first.into_owned(), map.next_value()?);
        while let Some(Text(k)) = map.next_key::<Text>()? {
            rest.insert(k.into_owned(), map.next_value()?);
        }
        let variant = match rest.remove(self.tag) {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => {
                return Err(de::Error::invalid_type(
                    unexpected(&other),
                    &"the variant's name",
                ))
            }
            None => return Err(de::Error::missing_field(self.tag)),
        };
        // The buffered entries read as the fast path reads the object's own.
        let rest = de::value::MapDeserializer::<_, serde_json::Error>::new(rest.into_iter());
        T::external(Variant {
            variant: Cow::Owned(variant),
            rest,
        })
        .map_err(de::Error::custom)
    }
}

fn unexpected(v: &serde_json::Value) -> de::Unexpected<'_> {
    match v {
        serde_json::Value::Null => de::Unexpected::Unit,
        serde_json::Value::Bool(b) => de::Unexpected::Bool(*b),
        serde_json::Value::Number(_) => de::Unexpected::Other("a number"),
        serde_json::Value::String(s) => de::Unexpected::Str(s),
        serde_json::Value::Array(_) => de::Unexpected::Seq,
        serde_json::Value::Object(_) => de::Unexpected::Map,
    }
}

/// A key or the tag's value: borrowed from the input when it can be.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The rest of an object whose tag came first, as one enum variant.
struct Variant<'de, A> {
    variant: Cow<'de, str>,
    rest: A,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Variant<'de, A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>> de::EnumAccess<'de> for Variant<'de, A> {
    type Error = A::Error;
    type Variant = RestOfMap<A>;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, RestOfMap<A>), A::Error> {
        let name = match self.variant {
            Cow::Borrowed(s) => seed.deserialize(de::value::BorrowedStrDeserializer::new(s))?,
            Cow::Owned(s) => seed.deserialize(de::value::StringDeserializer::new(s))?,
        };
        Ok((name, RestOfMap(self.rest)))
    }
}

/// The variant's fields are the object's remaining entries.
struct RestOfMap<A>(A);

impl<'de, A: MapAccess<'de>> de::VariantAccess<'de> for RestOfMap<A> {
    type Error = A::Error;

    fn unit_variant(mut self) -> Result<(), A::Error> {
        // Other fields beside a unit variant's tag are ignored, as serde's derive does.
        while self.0.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        seed.deserialize(de::value::MapAccessDeserializer::new(self.0))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _v: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom(
            "an internally tagged enum has no tuple variants",
        ))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }
}

/// Defines an internally tagged enum (variant names in snake_case) whose `Deserialize` goes
/// through [`deserialize`]: written once, as an ordinary enum plus `tagged "<tag>"`.
/// Derive everything but `Serialize` / `Deserialize`, which this adds.
macro_rules! tag_first_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident tagged $tag:literal { $($body:tt)* }
    ) => {
        $(#[$meta])*
        #[derive(::serde::Serialize)]
        #[serde(tag = $tag, rename_all = "snake_case")]
        $vis enum $name { $($body)* }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::tag_first::deserialize(d, $tag)
            }
        }

        impl<'de> $crate::tag_first::External<'de> for $name {
            fn external<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                type Target = $name;
                // The same variants, externally tagged: serde's derive reads each variant's
                // fields for it, and the compiler checks the copy against the enum.
                #[derive(::serde::Deserialize)]
                #[serde(remote = "Target", rename_all = "snake_case")]
                #[allow(dead_code)]
                enum Shadow { $($body)* }
                Shadow::deserialize(d)
            }
        }
    };
}
pub(crate) use tag_first_enum;

#[cfg(test)]
#[path = "tag_first_tests.rs"]
mod tests;
