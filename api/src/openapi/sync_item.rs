//! The schema of a sync item, written by hand. serde reads an internally
//! tagged enum by taking `type` out before the variant's struct sees the
//! rest; the derived schema, `allOf: [CheckInInput, {type}]`, would make a
//! strict validator refuse every item, because each input forbids
//! properties it does not name. So each alternative here is the variant's
//! own object with `type` added to it.

use crate::handlers::sync::{Item, NoteItem};
use crate::handlers::visit::{CheckInInput, CheckOutInput, DeclinedInput, EntryInput};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

impl PartialSchema for Item {
    fn schema() -> RefOr<Schema> {
        let variants = [
            ("check_in", CheckInInput::schema()),
            ("check_out", CheckOutInput::schema()),
            ("declined", DeclinedInput::schema()),
            ("entry", EntryInput::schema()),
            ("note", NoteItem::schema()),
        ];
        variants
            .into_iter()
            .fold(OneOfBuilder::new(), |one_of, (tag, schema)| {
                one_of.item(tagged(tag, schema))
            })
            .description(Some(
                "One offline item: the body of the endpoint that `type` names \
                 (`check_in`, `check_out`, `declined`, `entry`; `note` is the journal's \
                 body with the `client_id`), with `type` added.",
            ))
            .into()
    }
}

impl ToSchema for Item {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        CheckInInput::schemas(schemas);
        CheckOutInput::schemas(schemas);
        DeclinedInput::schemas(schemas);
        EntryInput::schemas(schemas);
        NoteItem::schemas(schemas);
    }
}

/// The object `schema` with a required `type` that must be `tag`.
fn tagged(tag: &str, schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            let kind = ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([tag]));
            object.properties.insert("type".into(), kind.into());
            object.required.insert(0, "type".into());
            RefOr::T(Schema::Object(object))
        }
        // The inputs are plain structs, so this is not reached; the contract
        // tests would show a wrong schema by failing the sync example.
        other => other,
    }
}
