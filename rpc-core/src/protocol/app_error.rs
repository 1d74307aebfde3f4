//! Application errors that know their own code, message and data, so they
//! cross the wire as spec error objects and come back as themselves.

use super::ErrorObject;

/// An application's error type, as an error object and back.
///
/// `#[derive(wirecall::RpcError)]` writes it for an enum: each variant
/// names its code and message, and its fields become the error's `data`.
/// A `#[method]` whose error type is not `ErrorObject` needs it: the server
/// answers with [`to_error_object`](RpcError::to_error_object), and the
/// generated client returns [`CallError<E>`](crate::CallError), with the
/// error decoded into [`CallError::App`](crate::CallError::App) when its
/// code is one of `E`'s and its data decodes.
///
/// # Examples
///
/// ```
/// use wirecall::{ErrorCode, ErrorObject, RpcError};
///
/// #[derive(Debug, PartialEq, RpcError)]
/// enum BankError {
///     #[rpc_error(code = 4004, message = "no such account")]
///     NoAccount,
///     #[rpc_error(code = 4009, message = "not enough money")]
///     Short { missing: u64 },
/// }
///
/// let short = BankError::Short { missing: 5 };
/// let object = short.to_error_object();
/// assert_eq!(object.code, ErrorCode::Application(4009));
/// assert_eq!(object.data.as_ref().unwrap().get(), r#"{"missing":5}"#);
/// assert_eq!(BankError::from_error_object(&object), Some(short));
/// // Another code, or data that does not decode: not a `BankError`.
/// assert_eq!(BankError::from_error_object(&ErrorObject::new(1, "other")), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an application error type wirecall can send and decode",
    note = "derive it: `#[derive(wirecall::RpcError)]`, with `#[rpc_error(code = …)]` on each variant",
    note = "or return `Result<T, ErrorObject>` for an untyped error"
)]
pub trait RpcError: Sized + std::fmt::Debug {
    /// The error object a peer is answered with.
    fn to_error_object(&self) -> ErrorObject;

    /// The error this object stands for, or `None` when its code is not
    /// one of this type's or its data does not decode.
    fn from_error_object(error: &ErrorObject) -> Option<Self>;

    /// Every code this type answers with, and its message: what a service
    /// description (its OpenRPC document) lists as the method's errors.
    /// The derive lists each variant's; the default lists none.
    fn error_codes() -> &'static [(i32, &'static str)] {
        &[]
    }
}

/// No application error at all: what a plain `CallError` carries.
impl RpcError for std::convert::Infallible {
    fn to_error_object(&self) -> ErrorObject {
        match *self {}
    }

    fn from_error_object(_: &ErrorObject) -> Option<Self> {
        None
    }
}
