"""Outbound webhooks (issue 17): audit rows → signed JSON deliveries to subscribed URLs."""
