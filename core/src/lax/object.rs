//! Objects and arrays read leniently: [`WireObject`] and [`FillObject`]
//! fill a value key by key, [`Shape`] and [`Many`] tell what a value
//! expected to be an object or an array turned out to be.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::error::DecodeError;
use super::value::{KeyInto, Lax, LaxVisitor, consume_map, consume_seq};

/// A type filled from a JSON object one key at a time.
pub(crate) trait WireObject<'de>: Sized {
    /// The value before any key was seen.
    fn empty() -> Self;
    /// Reads the value of `key` from `map` (must consume exactly one value).
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Implements [`WireObject`] for a type that starts as its `Default`: each
/// listed key is read by the expression given for it (`$this` is the
/// object, `$map` the map, at that key's value); any other key's value is
/// skipped.
macro_rules! wire_object {
    (impl<$de:lifetime> for $ty:ty |$this:ident, $map:ident| {
        $($key:literal => $read:expr),* $(,)?
    }) => {
        impl<$de> $crate::lax::WireObject<$de> for $ty {
            fn empty() -> Self {
                Self::default()
            }
            fn field<A: ::serde::de::MapAccess<$de>>(
                &mut self,
                key: &str,
                $map: &mut A,
            ) -> Result<(), A::Error> {
                let $this = self;
                match key {
                    $($key => {
                        $read;
                    })*
                    _ => {
                        $map.next_value::<::serde::de::IgnoredAny>()?;
                    }
                }
                Ok(())
            }
        }
    };
}
pub(crate) use wire_object;

/// A [`WireObject`] that becomes its value once every key was read (and,
/// where the value has required parts, checks them).
pub(crate) trait Finish<'de>: WireObject<'de> {
    /// The value.
    type Output;
    /// What the value is, for the error when it is not an object.
    const WHAT: &'static str;
    /// The value, or why the object does not make one.
    fn finish(self) -> Result<Self::Output, DecodeError>;
}

/// Reads a [`Finish`] object and finishes it, for a public type's
/// `Deserialize`: anything but an object is an error naming
/// [`Finish::WHAT`].
pub(crate) fn deserialize_finished<'de, W: Finish<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<W::Output, D::Error> {
    match Shape::<W>::deserialize(d)? {
        Shape::Obj(w) => w.finish().map_err(de::Error::custom),
        _ => Err(de::Error::custom(format_args!(
            "{} is not an object",
            W::WHAT
        ))),
    }
}

/// A value expected to be an object.
#[derive(Debug)]
pub(crate) enum Shape<T> {
    Obj(T),
    Null,
    Other(&'static str),
}

impl<T> Shape<T> {
    /// The object, if it was one.
    pub(crate) fn obj(self) -> Option<T> {
        match self {
            Shape::Obj(t) => Some(t),
            _ => None,
        }
    }
}

/// The value of a key that should hold an object: `None` when the key is
/// absent or `null`, the typed error for any other value.
pub(crate) fn object_field<T>(
    value: Option<Shape<T>>,
    frame: &'static str,
    field: &'static str,
) -> Result<Option<T>, DecodeError> {
    match value {
        None | Some(Shape::Null) => Ok(None),
        Some(Shape::Obj(t)) => Ok(Some(t)),
        Some(Shape::Other(kind)) => Err(not_an_object(frame, field, kind)),
    }
}

/// The error for a key that should hold an object and holds `kind`.
#[cold]
#[inline(never)]
pub(crate) fn not_an_object(frame: &'static str, field: &'static str, kind: &str) -> DecodeError {
    DecodeError::InvalidField {
        frame,
        field,
        detail: format!("expected an object, got {kind}"),
    }
}

fn lax_kind<'de, E: de::Error, T>(
    r: Result<Lax<'de>, E>,
    f: impl FnOnce(&'static str) -> T,
) -> Result<T, E> {
    r.map(|l| f(l.kind()))
}

macro_rules! other_scalars {
    ($wrap:expr) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            lax_kind(LaxVisitor.visit_bool(v), $wrap)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            lax_kind(LaxVisitor.visit_i64(v), $wrap)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            lax_kind(LaxVisitor.visit_u64(v), $wrap)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            lax_kind(LaxVisitor.visit_f64(v), $wrap)
        }
        fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
            Ok(($wrap)("a string"))
        }
    };
}

/// A value expected to be an object, filled from the value its function
/// makes (made only when the value is an object): [`WireObject::empty`] for
/// [`Shape<T>`], or a starting value of the caller's.
pub(crate) struct ShapeFrom<F>(pub(crate) F);

impl<'de, T: WireObject<'de>, F: FnOnce() -> T> Visitor<'de> for ShapeFrom<F> {
    type Value = Shape<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    other_scalars!(Shape::Other);
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Shape::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Shape::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        consume_seq(seq)?;
        Ok(Shape::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut t = (self.0)();
        let mut scratch = String::new();
        while let Some(k) = map.next_key_seed(KeyInto(&mut scratch))? {
            t.field(k.get(&scratch), &mut map)?;
        }
        Ok(Shape::Obj(t))
    }
}

impl<'de, T: WireObject<'de>, F: FnOnce() -> T> de::DeserializeSeed<'de> for ShapeFrom<F> {
    type Value = Shape<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: WireObject<'de>> Deserialize<'de> for Shape<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ShapeFrom(T::empty))
    }
}

/// A large wire object read straight into its heap slot: the envelope that
/// holds it stays small, so nothing large is moved between visitor layers.
impl<'de, T: WireObject<'de>> WireObject<'de> for Box<T> {
    fn empty() -> Self {
        Box::new(T::empty())
    }
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        (**self).field(key, map)
    }
}

/// A type whose fields are read in place into storage it borrows.
pub(crate) trait FillObject<'de> {
    /// Back to the state before any key was seen (an object given again
    /// replaces the earlier one whole).
    fn reset(&mut self);
    /// Reads the value of `key` from `map` (must consume exactly one value).
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
    /// Called once the object's last key was read.
    fn done(&mut self) {}
}

/// A value expected to be an object, read in place into `T`: `Shape<()>`
/// tells what it was. On `null` the target is reset (and finished); on any
/// other non-object it is left alone.
pub(crate) struct ShapeInto<'a, T>(pub(crate) &'a mut T);

impl<'de, T: FillObject<'de>> Visitor<'de> for ShapeInto<'_, T> {
    type Value = Shape<()>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    other_scalars!(Shape::Other);
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.reset();
        self.0.done();
        Ok(Shape::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.visit_unit()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        consume_seq(seq)?;
        Ok(Shape::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.0.reset();
        let mut scratch = String::new();
        while let Some(k) = map.next_key_seed(KeyInto(&mut scratch))? {
            self.0.field(k.get(&scratch), &mut map)?;
        }
        self.0.done();
        Ok(Shape::Obj(()))
    }
}

impl<'de, T: FillObject<'de>> de::DeserializeSeed<'de> for ShapeInto<'_, T> {
    type Value = Shape<()>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// A value expected to be an array of `T`.
#[derive(Debug)]
pub(crate) enum Many<T> {
    Items(Vec<T>),
    Null,
    Other(&'static str),
}

impl<T> Many<T> {
    /// The items, or nothing when it was not an array.
    pub(crate) fn items(self) -> Vec<T> {
        match self {
            Many::Items(v) => v,
            _ => Vec::new(),
        }
    }
}

struct ManyVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ManyVisitor<T> {
    type Value = Many<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    other_scalars!(Many::Other);
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Many::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Many::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<T>()? {
            items.push(item);
        }
        Ok(Many::Items(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        consume_map(map)?;
        Ok(Many::Other("an object"))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Many<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ManyVisitor(PhantomData))
    }
}

/// Reads the next map value as [`Lax`]. Not inlined: one copy serves every
/// field of a map type (docs/benchmarks.md, "Rare work out of line").
#[inline(never)]
pub(crate) fn lax<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Lax<'de>, A::Error> {
    map.next_value::<Lax<'de>>()
}

/// Reads the next map value as a full JSON value (unknown keys: rare).
#[inline(never)]
pub(crate) fn value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Value, A::Error> {
    map.next_value::<Value>()
}

/// Reads the next map value as a list of objects (items that are not
/// objects dropped, non-arrays give an empty list).
pub(crate) fn objects<'de, A: MapAccess<'de>, T: WireObject<'de>>(
    map: &mut A,
) -> Result<Vec<T>, A::Error> {
    Ok(map
        .next_value::<Many<Shape<T>>>()?
        .items()
        .into_iter()
        .filter_map(Shape::obj)
        .collect())
}
