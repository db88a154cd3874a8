//! The paths of the generic list/get/create/update handlers: they are
//! generic over `Crud`, which `#[utoipa::path]` cannot describe, so each
//! resource's four operations are built here from the same trait (its
//! `PATH`, row type and `Input`).

use super::problem::{BadRequest, Conflict, Internal, JsonBody, NotFound, SignedIn};
use super::{BEARER, JSON};
use crate::handlers::Items;
use crate::handlers::crud::Crud;
use std::collections::BTreeMap;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{
    ContentBuilder, OpenApi, Ref, RefOr, Required, Response, ResponseBuilder, Responses,
    ResponsesBuilder, Schema,
};
use utoipa::{IntoResponses, PartialSchema, ToSchema};

/// Who may read a resource, for the descriptions.
#[derive(Clone, Copy)]
pub struct Readers(pub &'static str);

/// Adds `PATH` (GET, POST) and `PATH/{id}` (GET, PUT) of `R` to `doc`,
/// with `R`, `R::Input` and what they refer to as schemas.
pub fn add<R>(doc: &mut OpenApi, noun: &str, readers: Readers)
where
    R: Crud,
    R::Body: ToSchema,
    R::Input: ToSchema,
{
    let components = doc.components.get_or_insert_with(Default::default);
    let mut schemas = vec![
        (R::Body::name().into_owned(), R::Body::schema()),
        (R::Input::name().into_owned(), R::Input::schema()),
    ];
    R::Body::schemas(&mut schemas);
    R::Input::schemas(&mut schemas);
    components.schemas.extend(schemas);

    let collection = format!("/api/v1{}", R::PATH);
    let item = format!("{collection}/{{id}}");
    let row = || Ref::from_schema_name(R::Body::name());
    let names = R::PATH.trim_start_matches('/').replace('-', "_");
    let read = format!("Admins; {}.", readers.0);

    let list =
        operation(&format!("list_{names}"), &format!("List {noun}"), &read).responses(responses(
            "200",
            json_response("The list.", Items::<R::Body>::schema()),
            [SignedIn::responses(), Internal::responses()],
        ));
    let created = ResponseBuilder::new()
        .description("Created; `Location` is its URL.")
        .header("Location", location())
        .content(JSON, ContentBuilder::new().schema(Some(row())).build());
    let create = operation(
        &format!("create_{names}"),
        &format!("Create one of the {noun}"),
        "Admins only. The body may carry the case system's own UUID as `id`.",
    )
    .request_body(Some(body::<R::Input>()))
    .responses(responses(
        "201",
        created,
        [
            JsonBody::responses(),
            SignedIn::responses(),
            Conflict::responses(),
            Internal::responses(),
        ],
    ));
    let get = operation(
        &format!("get_{names}"),
        &format!("One of the {noun}"),
        &read,
    )
    .parameter(id_parameter())
    .responses(responses(
        "200",
        json_response("The item.", row()),
        [
            BadRequest::responses(),
            SignedIn::responses(),
            NotFound::responses(),
            Internal::responses(),
        ],
    ));
    let update = operation(
        &format!("update_{names}"),
        &format!("Replace one of the {noun}"),
        "Admins only. A PUT of the whole resource; an `id` in the body must match the URL.",
    )
    .parameter(id_parameter())
    .request_body(Some(body::<R::Input>()))
    .responses(responses(
        "200",
        json_response("The item as stored.", row()),
        [
            JsonBody::responses(),
            SignedIn::responses(),
            NotFound::responses(),
            Conflict::responses(),
            Internal::responses(),
        ],
    ));
    let paths = &mut doc.paths;
    paths.add_path_operation(&collection, vec![HttpMethod::Get], list);
    paths.add_path_operation(&collection, vec![HttpMethod::Post], create);
    paths.add_path_operation(&item, vec![HttpMethod::Get], get);
    paths.add_path_operation(&item, vec![HttpMethod::Put], update);
}

/// An operation of the integration API, signed in with a bearer token.
fn operation(id: &str, summary: &str, description: &str) -> OperationBuilder {
    OperationBuilder::new()
        .operation_id(Some(id))
        .tag("integration")
        .summary(Some(summary))
        .description(Some(description))
        .security(SecurityRequirement::new::<_, _, &str>(BEARER, []))
}

fn json_response(description: &str, schema: impl Into<RefOr<Schema>>) -> ResponseBuilder {
    ResponseBuilder::new()
        .description(description)
        .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
}

/// A success response and the problem groups the operation can answer.
fn responses<const N: usize>(
    status: &str,
    ok: ResponseBuilder,
    problems: [BTreeMap<String, RefOr<Response>>; N],
) -> Responses {
    ResponsesBuilder::new()
        .response(status, ok)
        .responses_from_iter(problems.into_iter().flatten())
        .build()
}

fn body<T: ToSchema>() -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .content(
            JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(T::name())))
                .build(),
        )
        .required(Some(Required::True))
        .build()
}

fn id_parameter() -> ParameterBuilder {
    let uuid = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)));
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(uuid))
}

fn location() -> utoipa::openapi::header::Header {
    utoipa::openapi::header::HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String))
        .description(Some("The new item's URL."))
        .build()
}
