//! Page numbers and sizes of the admin user list.

use contracts::identity::{ListUsers, Pagination};

use crate::error::IdentityError;

/// A checked page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u32,
    pub limit: u32,
}

impl PageRequest {
    /// `page` from 1 (default 1) up to [`ListUsers::MAX_PAGE`], `limit` 1..=100 (default 20).
    pub fn parse(request: &ListUsers) -> Result<Self, IdentityError> {
        let page = request.page.unwrap_or(1);
        let limit = request.limit.unwrap_or(ListUsers::DEFAULT_LIMIT);
        if !(1..=ListUsers::MAX_PAGE).contains(&page) {
            return Err(IdentityError::invalid(
                "page",
                format!("page must be between 1 and {}", ListUsers::MAX_PAGE),
            ));
        }
        if !(1..=ListUsers::MAX_LIMIT).contains(&limit) {
            return Err(IdentityError::invalid(
                "limit",
                format!("limit must be between 1 and {}", ListUsers::MAX_LIMIT),
            ));
        }
        Ok(Self { page, limit })
    }

    /// Rows to skip.
    pub fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.limit)
    }

    pub fn pagination(self, total: u64) -> Pagination {
        Pagination {
            page: self.page,
            limit: self.limit,
            total,
            total_pages: total.div_ceil(u64::from(self.limit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(page: Option<u32>, limit: Option<u32>) -> ListUsers {
        ListUsers { page, limit }
    }

    #[test]
    fn defaults_are_the_first_page_of_twenty() {
        let page = PageRequest::parse(&list(None, None)).unwrap();
        assert_eq!((page.page, page.limit, page.offset()), (1, 20, 0));
    }

    #[test]
    fn pages_count_up_to_the_last_partial_one() {
        let page = PageRequest::parse(&list(Some(3), Some(10))).unwrap();
        assert_eq!(page.offset(), 20);
        assert_eq!(page.pagination(21).total_pages, 3);
        assert_eq!(page.pagination(0).total_pages, 0);
    }

    #[test]
    fn out_of_range_pages_and_limits_are_refused() {
        for (page, limit) in [
            (Some(0), None),
            (None, Some(0)),
            (None, Some(101)),
            (Some(ListUsers::MAX_PAGE + 1), None),
        ] {
            assert!(
                PageRequest::parse(&list(page, limit)).is_err(),
                "{page:?} {limit:?}"
            );
        }
    }
}
