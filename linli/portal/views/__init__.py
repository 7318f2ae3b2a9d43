"""Pages of the residents' portal (namespace ``portal``): plain server-rendered HTML for a
phone (and WeChat's built-in browser), no script needed."""
