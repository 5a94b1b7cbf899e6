"""One module per group of endpoints; `service.app.ROUTERS` lists them."""
